/**
 * A small chat page on urql + Graphcache and the typed SDK, without a framework: the conversation list and
 * the message history are views of the normalized cache (re-rendered when it changes), the reply being
 * written is shown from its own stream, and that stream survives a reload (sessionStorage keeps the
 * message id, the last `seq` and the text so far; `messageStream(afterSeq:)` continues from there). A user
 * message can be edited and a reply regenerated; where there are several versions, "< 2 / 3 >" switches
 * between them (the other branches are kept). A tool call that needs approval shows Approve / Deny under the reply, which waits (also across reloads and
 * devices) until one is chosen; a tool server that needs the user's own account shows a link to connect it.
 * Conversations can be pinned, tagged, renamed and deleted from the list, and replies rated thumbs up or
 * down. Every open tab of the user stays in sync through `viewerEvents`: the list follows changes made
 * elsewhere (Graphcache's updater applies the events), shows which conversations have a reply running, and
 * the open conversation follows a reply started in another tab.
 * Files can be attached to a message ("Attach"): they are uploaded first (a multipart request, which urql's
 * fetchExchange makes of a `File` variable) and sent by id; images show in the message by their signed url.
 */
import { Client, fetchExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import {
  ConversationDocument,
  ConversationListDocument,
  type ConversationListQuery,
  ConversationMessagesDocument,
  type ConversationMessagesQuery,
  DecideToolCallDocument,
  DeleteConversationDocument,
  EditMessageDocument,
  MessageStreamDocument,
  PinConversationDocument,
  RateMessageDocument,
  RegenerateReplyDocument,
  RenameConversationDocument,
  SearchMessagesDocument,
  SendMessageDocument,
  SetConversationTagsDocument,
  StopGenerationDocument,
  type StreamEventFragment,
  SwitchBranchDocument,
  UnpinConversationDocument,
  UploadAttachmentDocument,
  type ViewerEventFragment,
  ViewerEventsDocument,
} from "../../sdk/index.js";
import { graphcacheOptions } from "../../sdk/urql.js";

declare global {
  interface Window {
    /** Set by the page's server: where the API is. */
    CHAT_CONFIG?: { api?: string };
  }
}

/** Messages per page of history. */
const PAGE_SIZE = 20;
/** Pause before listening for changes again once the stream of them ended. */
const RESUBSCRIBE_MS = 1_000;

const params = new URLSearchParams(location.search);
if (params.get("token")) sessionStorage.setItem("chat.token", params.get("token") ?? "");
const token = sessionStorage.getItem("chat.token");

const client = new Client({
  url: window.CHAT_CONFIG?.api ?? "/graphql",
  fetchOptions: {
    headers: {
      // urql sends queries as GETs, which the API's CSRF prevention refuses unless a header shows that the
      // browser asked first (a custom header forces a CORS preflight): without a token (development auth)
      // nothing else would.
      "x-graphql-yoga-csrf": "chat-example",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  },
  // Subscriptions as Server-Sent Events on /graphql (yoga's own SSE).
  fetchSubscriptions: true,
  exchanges: [cacheExchange(graphcacheOptions()), fetchExchange],
});

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  search: $<HTMLInputElement>("search"),
  results: $<HTMLUListElement>("search-results"),
  list: $<HTMLUListElement>("conversation-list"),
  more: $<HTMLButtonElement>("more-conversations"),
  newChat: $<HTMLButtonElement>("new-chat"),
  messages: $<HTMLOListElement>("messages"),
  thread: $<HTMLDivElement>("thread"),
  empty: $<HTMLParagraphElement>("empty"),
  older: $<HTMLButtonElement>("load-older"),
  form: $<HTMLFormElement>("composer"),
  input: $<HTMLTextAreaElement>("input"),
  send: $<HTMLButtonElement>("send"),
  attach: $<HTMLButtonElement>("attach"),
  files: $<HTMLInputElement>("files"),
  pending: $<HTMLUListElement>("pending-files"),
  stop: $<HTMLButtonElement>("stop"),
  error: $<HTMLParagraphElement>("error"),
};

/** The reply being written, as its stream tells it; kept in sessionStorage to resume after a reload. */
interface LiveReply {
  conversationId: string;
  messageId: string;
  seq: number;
  text: string;
  /** Tool calls that wait for the user's decision. */
  approvals: { id: string; server: string; name: string; arguments: unknown }[];
  /** Tool servers the user must connect before the reply can go on. */
  authorizations: { server: string; url: string }[];
}

const state = {
  conversations: null as ConversationListQuery["conversations"] | null,
  conversationsAfter: null as string | null,
  selected: sessionStorage.getItem("chat.selected"),
  history: null as NonNullable<ConversationMessagesQuery["conversation"]>["messages"] | null,
  before: null as string | null,
  live: restoreLive(),
  /** The seq of the last event applied, across sendMessage and messageStream of one reply. */
  lastSeq: 0,
  stream: null as { unsubscribe(): void } | null,
  /** The user message being edited: the composer's next submit saves a new version of it. */
  editing: null as string | null,
  /** Files chosen for the next message, uploaded when it is sent. */
  files: [] as File[],
};

/** The reply being written before a reload, if any (saved by an older page: without its waiting calls). */
function restoreLive(): LiveReply | null {
  const saved = JSON.parse(sessionStorage.getItem("chat.live") ?? "null") as Partial<LiveReply> | null;
  return saved ? ({ approvals: [], authorizations: [], ...saved } as LiveReply) : null;
}

// The conversation list: a view of the cache, re-rendered whenever Graphcache updates it (new messages
// move a conversation to the top, new conversations appear there). "More" asks for the next page, which
// relayPagination merges into the same list.
let listWatch = watchConversations();
function watchConversations() {
  const variables = { first: 20, ...(state.conversationsAfter ? { after: state.conversationsAfter } : {}) };
  return client.query(ConversationListDocument, variables).subscribe(({ data, error }) => {
    if (error) return showError(error.message);
    if (!data) return;
    state.conversations = data.conversations;
    renderConversations();
  });
}
ui.more.addEventListener("click", () => {
  state.conversationsAfter = state.conversations?.pageInfo.endCursor ?? null;
  listWatch.unsubscribe();
  listWatch = watchConversations();
});

function renderConversations() {
  const edges = state.conversations?.edges ?? [];
  ui.list.replaceChildren(
    ...edges.map(({ node }) => {
      const item = document.createElement("li");
      item.dataset.id = node.id;
      item.classList.toggle("selected", node.id === state.selected);
      item.classList.toggle("pinned", node.pinnedAt !== null);
      // A reply is being written in it, here or in another tab (viewerEvents keeps this current).
      item.dataset.running = String(node.activeReplyId !== null);
      const button = Object.assign(document.createElement("button"), { type: "button", className: "open" });
      const title = Object.assign(document.createElement("span"), {
        className: "title",
        textContent: node.title,
      });
      const preview = Object.assign(document.createElement("span"), {
        className: "preview",
        textContent: node.activeReplyId ? "Replying…" : (node.lastMessage?.content ?? ""),
      });
      const tags = Object.assign(document.createElement("span"), {
        className: "tags",
        textContent: node.tags.map((t) => `#${t}`).join(" "),
      });
      button.append(title, preview, tags);
      button.addEventListener("click", () => select(node.id));
      item.append(button, conversationActions(node));
      return item;
    }),
  );
  ui.more.hidden = !ui.results.hidden || !state.conversations?.pageInfo.hasNextPage;
}

type ListedConversation = ConversationListQuery["conversations"]["edges"][number]["node"];

/** A listed conversation's actions: pin or unpin, tags, rename, delete. */
function conversationActions(node: ListedConversation): HTMLElement {
  const actions = Object.assign(document.createElement("span"), { className: "actions" });
  const action = (className: string, label: string, run: () => Promise<{ error?: { message: string } }>) => {
    const button = Object.assign(document.createElement("button"), {
      type: "button",
      className,
      textContent: label,
    });
    button.addEventListener("click", async () => {
      hideError();
      const { error } = await run();
      if (error) showError(error.message);
    });
    return button;
  };
  const id = node.id;
  const none = Promise.resolve({});
  actions.append(
    action("pin", node.pinnedAt ? "Unpin" : "Pin", () =>
      (node.pinnedAt
        ? client.mutation(UnpinConversationDocument, { id })
        : client.mutation(PinConversationDocument, { id })
      ).toPromise(),
    ),
    action("tag", "Tags", () => {
      const answer = prompt("Tags, separated by commas", node.tags.join(", "));
      if (answer === null) return none;
      const tags = answer
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t.length > 0);
      return client.mutation(SetConversationTagsDocument, { id, tags }).toPromise();
    }),
    action("rename", "Rename", () => {
      const title = prompt("New title", node.title);
      if (title === null) return none;
      return client.mutation(RenameConversationDocument, { id, title }).toPromise();
    }),
    action("delete", "Delete", () => {
      if (!confirm(`Delete "${node.title}"?`)) return none;
      return client.mutation(DeleteConversationDocument, { id }).toPromise();
    }),
  );
  return actions;
}

// The open conversation's history: the newest page, then older pages ("Load older"), merged by
// relayPagination; new messages join it as they are created.
let historyWatch: { unsubscribe(): void } | null = null;
function select(id: string | null) {
  if (id !== state.selected) state.before = null;
  state.selected = id;
  if (id) sessionStorage.setItem("chat.selected", id);
  else sessionStorage.removeItem("chat.selected");
  state.history = null;
  historyWatch?.unsubscribe();
  historyWatch = null;
  renderConversations();
  renderMessages();
  if (!id) return;
  const variables = { id, last: PAGE_SIZE, ...(state.before ? { before: state.before } : {}) };
  historyWatch = client.query(ConversationMessagesDocument, variables).subscribe(({ data, error }) => {
    if (error) return showError(error.message);
    if (data?.conversation?.id !== state.selected) return;
    const grew = (data.conversation.messages.edges.length ?? 0) > (state.history?.edges.length ?? 0);
    state.history = data.conversation.messages;
    renderMessages(grew && !state.before);
  });
}
ui.older.addEventListener("click", () => {
  state.before = state.history?.pageInfo.startCursor ?? null;
  const height = ui.thread.scrollHeight;
  select(state.selected);
  // Keep the messages in view where they were once older ones are added above.
  requestAnimationFrame(() => {
    ui.thread.scrollTop += ui.thread.scrollHeight - height;
  });
});

function renderMessages(scrollToEnd = true) {
  const edges = state.history?.edges ?? [];
  ui.empty.hidden = edges.length > 0 || state.live !== null;
  ui.older.hidden = !state.history?.pageInfo.hasPreviousPage;
  ui.messages.replaceChildren(
    ...edges.map(({ node }) => {
      const live = state.live?.messageId === node.id ? state.live : null;
      const item = document.createElement("li");
      item.className = "message";
      item.dataset.id = node.id;
      item.dataset.role = node.role;
      const waiting = live && (live.approvals.length > 0 || live.authorizations.length > 0);
      item.dataset.status = live ? (waiting ? "AWAITING_APPROVAL" : "STREAMING") : node.status;
      const text = Object.assign(document.createElement("span"), {
        className: "text",
        textContent: live ? live.text : node.content,
      });
      item.append(text);
      if (node.attachments.length > 0) item.append(attachmentsView(node.attachments));
      if (!live) item.append(...messageControls(node));
      if (live)
        item.append(...live.approvals.map(approvalView), ...live.authorizations.map(authorizationView));
      if (!live && node.status !== "COMPLETE") {
        const status = node.status === "FAILED" ? `failed: ${node.error ?? ""}` : node.status.toLowerCase();
        item.append(
          Object.assign(document.createElement("span"), { className: "status", textContent: status }),
        );
      }
      return item;
    }),
  );
  ui.stop.hidden = state.live === null;
  ui.send.disabled = state.live !== null;
  if (scrollToEnd) ui.thread.scrollTop = ui.thread.scrollHeight;
}

type HistoryMessage = NonNullable<
  ConversationMessagesQuery["conversation"]
>["messages"]["edges"][number]["node"];

/** A message's files: images shown by their signed url (no token needed), others as download links. */
function attachmentsView(attachments: HistoryMessage["attachments"]): HTMLElement {
  const list = Object.assign(document.createElement("span"), { className: "attachments" });
  for (const a of attachments) {
    list.append(
      a.kind === "IMAGE"
        ? Object.assign(document.createElement("img"), {
            className: "attachment",
            src: a.url,
            alt: a.filename,
          })
        : Object.assign(document.createElement("a"), {
            className: "attachment",
            href: a.url,
            textContent: a.filename,
          }),
    );
  }
  return list;
}

/** Shows the files chosen for the next message. */
function renderPendingFiles() {
  ui.pending.hidden = state.files.length === 0;
  ui.pending.replaceChildren(
    ...state.files.map((f) => Object.assign(document.createElement("li"), { textContent: f.name })),
  );
}

/** Uploads the chosen files; their ids in order, or null (and the error shown) when one is refused. */
async function uploadFiles(files: File[]): Promise<string[] | null> {
  const ids: string[] = [];
  for (const file of files) {
    const { data, error } = await client.mutation(UploadAttachmentDocument, { file }).toPromise();
    if (error || !data) {
      showError(`${file.name}: ${error?.message ?? "upload failed"}`);
      return null;
    }
    ids.push(data.uploadAttachment.attachment.id);
  }
  return ids;
}

/** A message's buttons: its versions ("< 2 / 3 >"), and Edit (user) or Regenerate (assistant). */
function messageControls(node: HistoryMessage): HTMLElement[] {
  const button = (className: string, label: string, onClick: () => void, disabled = false) => {
    const element = Object.assign(document.createElement("button"), {
      type: "button",
      className,
      textContent: label,
    });
    element.disabled = disabled || state.live !== null;
    element.addEventListener("click", onClick);
    return element;
  };
  const controls: HTMLElement[] = [];
  if (node.siblingCount > 1) {
    const versions = Object.assign(document.createElement("span"), { className: "versions" });
    const to = (index: number) => () => void switchTo(node.siblings[index]?.id);
    versions.append(
      button("prev", "<", to(node.siblingIndex - 1), node.siblingIndex === 0),
      Object.assign(document.createElement("span"), {
        className: "version",
        textContent: `${node.siblingIndex + 1} / ${node.siblingCount}`,
      }),
      button("next", ">", to(node.siblingIndex + 1), node.siblingIndex + 1 >= node.siblingCount),
    );
    controls.push(versions);
  }
  if (node.role === "USER") {
    controls.push(
      button("edit", "Edit", () => {
        state.editing = node.id;
        ui.input.value = node.content;
        ui.send.textContent = "Save";
        ui.input.focus();
      }),
    );
  }
  if (node.role === "ASSISTANT" && node.status === "COMPLETE") {
    // Thumbs up or down; choosing the current rating again clears it.
    for (const [rating, label] of [
      ["UP", "▲ Good"],
      ["DOWN", "▼ Bad"],
    ] as const) {
      const chosen = node.feedback?.rating === rating;
      const thumb = button(`rate rate-${rating.toLowerCase()}`, label, () => {
        const next = chosen ? null : rating;
        void client
          .mutation(RateMessageDocument, { messageId: node.id, rating: next })
          .toPromise()
          .then(({ error }) => error && showError(error.message));
      });
      thumb.setAttribute("aria-pressed", String(chosen));
      controls.push(thumb);
    }
  }
  if (node.role === "ASSISTANT" && node.status !== "STREAMING" && node.status !== "QUEUED") {
    controls.push(
      button("regenerate", "Regenerate", () => {
        hideError();
        state.lastSeq = 0;
        follow(
          client.subscription(RegenerateReplyDocument, { input: { messageId: node.id } }),
          (data) => data.regenerateReply,
        );
      }),
    );
  }
  return controls;
}

/** Shows another version: the cache drops the loaded path and the history view loads the new one. */
async function switchTo(messageId: string | undefined) {
  if (!messageId) return;
  const { error } = await client.mutation(SwitchBranchDocument, { messageId }).toPromise();
  if (error) return showError(error.message);
  state.before = null;
  select(state.selected);
}

/** A tool call waiting for approval: what it would do, and the two choices. */
function approvalView(call: LiveReply["approvals"][number]) {
  const box = Object.assign(document.createElement("span"), { className: "approval" });
  box.dataset.toolCallId = call.id;
  const what = Object.assign(document.createElement("span"), {
    className: "what",
    textContent: `Run ${call.server} › ${call.name} ${JSON.stringify(call.arguments)}?`,
  });
  const choice = (label: string, approve: boolean) => {
    const button = Object.assign(document.createElement("button"), {
      type: "button",
      className: approve ? "approve" : "deny",
      textContent: label,
    });
    button.addEventListener("click", () => void decide(call.id, approve));
    return button;
  };
  box.append(what, choice("Approve", true), choice("Deny", false));
  return box;
}

/** A tool server the user must connect with their own account (opens in a new tab). */
function authorizationView(needed: LiveReply["authorizations"][number]) {
  return Object.assign(document.createElement("a"), {
    className: "authorization",
    href: needed.url,
    target: "_blank",
    rel: "noopener",
    textContent: `Connect ${needed.server} to continue`,
  });
}

async function decide(toolCallId: string, approve: boolean) {
  const { error } = await client
    .mutation(DecideToolCallDocument, { input: { toolCallId, approve } })
    .toPromise();
  if (error) return showError(error.message);
  // The reply goes on in its stream; the question is answered (here, and on the user's other devices once
  // their streams see the call start or complete).
  if (state.live) state.live.approvals = state.live.approvals.filter((a) => a.id !== toolCallId);
  renderMessages();
}

// Search: results replace the conversation list while the box has text; a result opens its conversation.
let searchTimer: ReturnType<typeof setTimeout> | undefined;
let searchRun = 0;
ui.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => void search(ui.search.value.trim()), 250);
});

async function search(query: string) {
  const run = ++searchRun;
  const searching = query.length > 0;
  ui.results.hidden = !searching;
  ui.list.hidden = searching;
  ui.more.hidden = searching || !state.conversations?.pageInfo.hasNextPage;
  if (!searching) return;
  const { data, error } = await client
    .query(SearchMessagesDocument, { query, first: 20 }, { requestPolicy: "network-only" })
    .toPromise();
  if (run !== searchRun) return; // a newer search has started
  if (error) return showError(error.message);
  const edges = data?.searchMessages.edges ?? [];
  ui.results.replaceChildren(
    ...(edges.length === 0
      ? [
          Object.assign(document.createElement("li"), {
            className: "preview",
            textContent: "No messages match.",
          }),
        ]
      : edges.map(({ node }) => {
          const item = document.createElement("li");
          item.dataset.conversationId = node.conversation.id;
          const button = document.createElement("button");
          button.type = "button";
          const title = Object.assign(document.createElement("span"), {
            className: "title",
            textContent: node.conversation.title,
          });
          // The server escapes the text and only adds <mark> around the matches.
          const snippet = Object.assign(document.createElement("span"), {
            className: "snippet",
            innerHTML: node.snippet,
          });
          button.append(title, snippet);
          button.addEventListener("click", () => select(node.conversation.id));
          item.append(button);
          return item;
        })),
  );
}

// Sending, streaming, stopping and resuming.
ui.attach.addEventListener("click", () => ui.files.click());
ui.files.addEventListener("change", () => {
  state.files.push(...Array.from(ui.files.files ?? []));
  ui.files.value = "";
  renderPendingFiles();
});

ui.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const content = ui.input.value.trim();
  if ((!content && state.files.length === 0) || state.live) return;
  hideError();
  const files = state.files;
  const attachmentIds = files.length > 0 ? await uploadFiles(files) : [];
  if (attachmentIds === null) return;
  ui.input.value = "";
  state.files = [];
  renderPendingFiles();
  state.lastSeq = 0;
  const clientMessageId = crypto.randomUUID();
  if (state.editing) {
    const messageId = state.editing;
    state.editing = null;
    ui.send.textContent = "Send";
    const edit = { messageId, content, clientMessageId, ...(files.length > 0 && { attachmentIds }) };
    follow(client.subscription(EditMessageDocument, { input: edit }), (data) => data.editMessage);
    return;
  }
  const input = { content, conversationId: state.selected, clientMessageId, attachmentIds };
  follow(client.subscription(SendMessageDocument, { input }), (data) => data.sendMessage);
});

ui.stop.addEventListener("click", async () => {
  if (!state.live) return;
  const { error } = await client
    .mutation(StopGenerationDocument, { messageId: state.live.messageId })
    .toPromise();
  if (error) showError(error.message);
});

ui.newChat.addEventListener("click", () => {
  if (state.live) return;
  select(null);
  ui.input.focus();
});

/** Subscribes to a reply's stream and applies each event once, in order. */
function follow<T>(
  source: {
    subscribe(fn: (result: { data?: T; error?: { message: string } }) => void): { unsubscribe(): void };
  },
  eventOf: (data: T) => StreamEventFragment | undefined,
) {
  state.stream?.unsubscribe();
  state.stream = source.subscribe(({ data, error }) => {
    if (error) {
      showError(error.message);
      return;
    }
    const event = data ? eventOf(data) : undefined;
    if (event && event.seq > state.lastSeq) apply(event);
  });
}

function apply(event: StreamEventFragment) {
  state.lastSeq = event.seq;
  switch (event.__typename) {
    case "MessageCreated": {
      const { message } = event;
      if (message.conversation.id !== state.selected) select(message.conversation.id);
      if (message.role === "ASSISTANT") {
        state.live = {
          conversationId: message.conversation.id,
          messageId: message.id,
          seq: event.seq,
          text: "",
          approvals: [],
          authorizations: [],
        };
      }
      break;
    }
    case "TextDelta":
      if (state.live) state.live.text += event.delta;
      break;
    case "MessageSnapshot":
      if (state.live) {
        state.live.text = event.message.content;
        state.live.approvals = event.message.toolCalls
          .filter((c) => c.status === "AWAITING_APPROVAL")
          .map((c) => ({ id: c.id, server: c.server, name: c.name, arguments: c.arguments }));
      }
      break;
    case "ToolApprovalRequested":
      if (state.live) {
        const { id, server, name, arguments: args } = event.toolCall;
        state.live.approvals = [...state.live.approvals, { id, server, name, arguments: args }];
      }
      break;
    case "ToolAuthorizationRequired":
      if (state.live)
        state.live.authorizations = [
          ...state.live.authorizations,
          { server: event.server, url: event.authorizationUrl },
        ];
      break;
    case "ToolCallStarted":
    case "ToolCallCompleted":
      if (state.live) {
        state.live.approvals = state.live.approvals.filter((a) => a.id !== event.toolCall.id);
        state.live.authorizations = state.live.authorizations.filter(
          (a) => a.server !== event.toolCall.server,
        );
      }
      break;
    case "MessageCompleted":
      // The cache now holds the final message (Graphcache normalized it from this event), and the server
      // ends the stream after it.
      state.live = null;
      state.stream = null;
      break;
    default:
      break;
  }
  if (state.live) {
    state.live.seq = event.seq;
    sessionStorage.setItem("chat.live", JSON.stringify(state.live));
  } else {
    sessionStorage.removeItem("chat.live");
  }
  renderMessages();
}

// Every tab of the user in sync: Graphcache's `viewerEvents` updater (sdk/urql.ts) puts conversations
// created, changed or deleted elsewhere in their place in the list and marks replies running; here the page
// closes a conversation deleted elsewhere and follows, in the open conversation, a reply another tab started.
// The stream ends after the server's longest stream life, or when the server lost what connects its
// instances: the page then subscribes again and reads its list again (events meanwhile are not kept).
function listenToChanges() {
  let ended = false;
  client.subscription(ViewerEventsDocument, {}).subscribe(({ data, hasNext, error }) => {
    // urql's last result of an ended stream (`hasNext: false`) repeats the last event: not applied twice.
    if (hasNext === false) {
      if (ended) return;
      ended = true;
      setTimeout(
        () => {
          listenToChanges();
          void client
            .query(ConversationListDocument, { first: 20 }, { requestPolicy: "network-only" })
            .toPromise();
          // Refused (too many streams, say) or cut off: wait longer before asking again.
        },
        error ? 5 * RESUBSCRIBE_MS : RESUBSCRIBE_MS,
      );
      return;
    }
    if (data?.viewerEvents) applyViewerEvent(data.viewerEvents);
  });
}
listenToChanges();

function applyViewerEvent(event: ViewerEventFragment) {
  if (event.__typename === "ConversationDeleted" && event.conversationId === state.selected) select(null);
  if (event.__typename === "ReplyStarted" && event.conversationId === state.selected && !state.stream) {
    state.lastSeq = 0;
    state.live = {
      conversationId: event.conversationId,
      messageId: event.messageId,
      seq: 0,
      text: "",
      approvals: [],
      authorizations: [],
    };
    follow(
      client.subscription(MessageStreamDocument, { messageId: event.messageId, afterSeq: 0 }),
      (d) => d.messageStream,
    );
  }
  // The list's preview shows the reply as it ended (this tab did not follow its text).
  if (event.__typename === "ReplyFinished")
    void client
      .query(ConversationDocument, { id: event.conversationId }, { requestPolicy: "network-only" })
      .toPromise();
}

function showError(message: string) {
  ui.error.textContent = message;
  ui.error.hidden = false;
}
function hideError() {
  ui.error.hidden = true;
}

// After a reload: open the conversation again and, if a reply was being written, continue its stream
// from the last event this page applied.
select(state.selected);
if (state.live) {
  const { messageId, seq } = state.live;
  state.lastSeq = seq;
  select(state.live.conversationId);
  follow(
    client.subscription(MessageStreamDocument, { messageId, afterSeq: seq }),
    (data) => data.messageStream,
  );
}
