import type { ResultOf } from "@graphql-typed-document-node/core";
import { graphql } from "../generated/index.js";
import type { StreamResult } from "./sse.js";

// The operations of tool control: approvals, permissions, tool servers, and the events they add.

export const ToolEventFields = graphql(`
  fragment ToolEventFields on MessageStreamEvent {
    __typename
    ... on MessageCreated {
      seq
      message {
        id
        role
        conversation {
          id
        }
      }
    }
    ... on TextDelta {
      seq
      delta
    }
    ... on ReasoningDelta {
      seq
      messageId
      delta
    }
    ... on ToolApprovalRequested {
      seq
      messageId
      toolCall {
        id
        server
        name
        arguments
        status
        result
      }
    }
    ... on ToolAuthorizationRequired {
      seq
      messageId
      server
      authorizationUrl
    }
    ... on ToolCallStarted {
      seq
      toolCall {
        id
        name
        status
      }
    }
    ... on ToolCallCompleted {
      seq
      toolCall {
        id
        name
        status
        result
        isError
        decision
        decidedAt
      }
    }
    ... on MessageSnapshot {
      seq
      message {
        id
        content
        status
        toolCalls {
          id
          status
        }
      }
    }
    ... on MessageCompleted {
      seq
      message {
        id
        content
        reasoning
        status
        error
        toolCalls {
          id
          name
          status
          result
          decision
        }
      }
    }
  }
`);

export const SendWithTools = graphql(`
  subscription SendWithTools($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...ToolEventFields
    }
  }
`);

export const StreamWithTools = graphql(`
  subscription StreamWithTools($messageId: ID!, $afterSeq: Int) {
    messageStream(messageId: $messageId, afterSeq: $afterSeq) {
      ...ToolEventFields
    }
  }
`);

export const DecideToolCall = graphql(`
  mutation DecideToolCall($input: DecideToolCallInput!) {
    decideToolCall(input: $input) {
      toolCall {
        id
        status
        decision
        decidedAt
        result
      }
    }
  }
`);

export const RevokeToolPermission = graphql(`
  mutation RevokeToolPermission($id: ID!) {
    revokeToolPermission(input: { id: $id }) {
      revokedId
    }
  }
`);

export const ToolsQuery = graphql(`
  query Tools {
    viewer {
      toolServers {
        name
        status
        tools {
          name
          description
          requiresApproval
        }
      }
      toolPermissions {
        id
        server
        tool
        scope
        conversation {
          id
        }
      }
    }
  }
`);

export const AuthorizeToolServer = graphql(`
  mutation AuthorizeToolServer($server: String!) {
    authorizeToolServer(input: { server: $server }) {
      authorizationUrl
    }
  }
`);

export const DisconnectToolServer = graphql(`
  mutation DisconnectToolServer($server: String!) {
    disconnectToolServer(input: { server: $server }) {
      server
    }
  }
`);

export const MessageReasoning = graphql(`
  query MessageReasoning($id: ID!) {
    node(id: $id) {
      ... on Message {
        content
        reasoning
        status
      }
    }
  }
`);

/** One event as the tool fragment selects it. */
export type ToolEvent = ResultOf<typeof ToolEventFields>;

/** The events of subscription results; fails loudly on an error result. */
export function toolEventsOf(
  results: StreamResult<{ sendMessage?: ToolEvent; messageStream?: ToolEvent }>[],
): ToolEvent[] {
  return results.map((r) => {
    const event = r.data?.sendMessage ?? r.data?.messageStream;
    if (!event) throw new Error(`not an event: ${JSON.stringify(r)}`);
    return event;
  });
}
