// Deterministic chat-like text for the search benchmark (bench/search.ts): English words drawn with a
// Zipf distribution (so some words are everywhere and most are rare, as in real text), sentences and
// paragraphs, and now and then what chat with an assistant is full of: code identifiers, error codes,
// file paths, URLs, numbers and a little HTML.

// Roughly in order of frequency: the Zipf rank of a word is its position in this list.
const WORDS = `
the be to of and a in that have i it for not on with he as you do at this but his by from they we say her
she or an will my one all would there their what so up out if about who get which go me when make can like
time no just him know take people into year your good some could them see other than then now look only
come its over think also back after use two how our work first well way even new want because any these give
day most us is was are been has had were said did made should here need help thanks please question answer
problem issue error code data file server user message system test build run start stop check change update
create delete list value name type string number result request response function method class object array
model version release project team meeting week month today tomorrow yesterday morning evening plan idea note
review feedback design document page link image video email phone call chat reply send receive share open
close save load read write find search show hide sort filter group order price cost budget report account
customer client service product feature support bug fix patch deploy deployment database query index table
column row schema migration backup restore cache memory disk network connection timeout retry limit rate
token key secret password login logout session cookie header body status health log metric alert monitor
dashboard chart graph trend growth sales market launch campaign content post article blog story book movie
music song game sport team player coach match score win lose travel trip flight hotel train ticket city
country beach mountain river lake park museum restaurant food dinner lunch breakfast coffee tea recipe cook
bake kitchen garden house room apartment rent move family friend kid child parent school class teacher student
homework exam grade course lesson language english spanish french german learn practice exercise health doctor
appointment medicine sleep run walk yoga gym weight diet water weather rain snow sun wind cold hot summer winter
spring autumn holiday birthday gift party wedding dog cat pet car bike bus road map address street
python javascript typescript rust golang java kotlin swift react vue angular svelte node deno docker kubernetes
terraform ansible linux windows macos android iphone laptop keyboard monitor printer router wifi bluetooth
cloud storage bucket lambda cluster container image registry pipeline workflow branch commit merge rebase
conflict review approve reject compile compiler runtime library framework package dependency install upgrade
downgrade configure configuration environment variable parameter argument option flag default setting profile
permission role admin owner member invite join leave remove ban block mute notify notification subscribe
unsubscribe webhook endpoint route handler middleware controller component template render layout style theme
color font icon button input form field label select checkbox modal dialog menu sidebar footer navbar tab
scroll click hover drag drop upload download import export parse format convert encode decode encrypt decrypt
hash sign verify validate sanitize escape normalize transform map reduce merge split join slice concat
async await promise callback event listener stream buffer socket thread process worker queue job task
schedule cron interval delay throttle debounce batch chunk page cursor offset pagination scroll infinite
performance latency throughput benchmark profile optimize slow fast efficient scalable reliable secure
vulnerability attack injection firewall certificate encryption authentication authorization oauth jwt
analytics experiment hypothesis statistics average median percentile variance regression classification
training dataset feature label prediction accuracy precision recall embedding vector transformer prompt
assistant summary summarize translate explain describe compare suggest recommend improve rewrite shorten
expand outline draft edit proofread grammar spelling tone formal casual friendly professional polite
invoice payment refund subscription plan trial discount coupon checkout cart shipping delivery warehouse
inventory supplier vendor contract agreement policy compliance audit risk insurance tax salary hire
interview resume candidate offer onboarding training manager director engineer designer analyst developer
architecture microservice monolith serverless distributed consistency availability partition replica
shard primary secondary failover backup snapshot recovery incident outage postmortem rollback hotfix
`;

// Drawn rarely: some searches look for them (a "rare word" finds a handful of messages per user at most).
const RARE_WORDS = `
zanzibar quixotic marmalade obsidian halcyon lighthouse gondola saffron tundra papyrus
porcupine kaleidoscope mandolin quasar fjord sequoia walrus zeppelin labyrinth nebula
`;

const IDENTIFIER_PARTS = {
  verb: [
    "get",
    "set",
    "fetch",
    "update",
    "create",
    "delete",
    "find",
    "load",
    "save",
    "parse",
    "render",
    "handle",
  ],
  noun: ["User", "Order", "Session", "Invoice", "Message", "Config", "Token", "Cart", "Profile", "Report"],
  suffix: ["ById", "ByName", "List", "Async", "Handler", "Count", "", "", ""],
};
const ERROR_CODES = [
  "ERR_CONNECTION_REFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ERR_MODULE_NOT_FOUND",
  "SQLSTATE_23505",
  "HTTP_429",
];
const PATHS = [
  "src/index.ts",
  "src/utils/date.ts",
  "config/app.yaml",
  "docker-compose.yml",
  "lib/auth/jwt.rs",
];
const SITES = [
  "https://example.com/docs",
  "https://status.example.org/incident",
  "http://localhost:3000/api",
];

/** The vocabulary, most frequent first. */
export const vocabulary: readonly string[] = WORDS.split(/\s+/).filter(Boolean);
/** Words a message contains with probability 1/2000 (one of them at random). */
export const rareWords: readonly string[] = RARE_WORDS.split(/\s+/).filter(Boolean);

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same corpus on every run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cumulative Zipf weights (exponent `s`) for `n` ranks. */
function zipfTable(n: number, s: number): Float64Array {
  const table = new Float64Array(n);
  let sum = 0;
  for (let rank = 1; rank <= n; rank += 1) {
    sum += 1 / rank ** s;
    table[rank - 1] = sum;
  }
  for (let i = 0; i < n; i += 1) table[i] = (table[i] ?? 0) / sum;
  return table;
}

/** The index whose cumulative weight first reaches `u`. */
function pick(table: Float64Array, u: number): number {
  let low = 0;
  let high = table.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((table[mid] ?? 1) < u) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Writes chat messages: short questions from users, longer answers from the assistant. */
export class TextGenerator {
  private readonly random: () => number;
  private readonly zipf = zipfTable(vocabulary.length, 1.05);

  constructor(seed: number) {
    this.random = prng(seed);
  }

  /** A random integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  oneOf<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  word(): string {
    return vocabulary[pick(this.zipf, this.random())] as string;
  }

  /** A conversation title: a few words. */
  title(): string {
    const words = Array.from({ length: this.int(2, 5) }, () => this.word());
    return capitalize(words.join(" "));
  }

  /** A user's message (4 to 30 words) or an assistant's (20 to 120 words, in sentences). */
  message(role: "USER" | "ASSISTANT"): string {
    const length = role === "USER" ? this.int(4, 30) : this.int(20, 120);
    const sentences: string[] = [];
    let sentence: string[] = [];
    for (let i = 0; i < length; i += 1) {
      sentence.push(this.token());
      if (sentence.length >= this.int(6, 18)) {
        sentences.push(`${capitalize(sentence.join(" "))}${this.oneOf([".", ".", ".", "?", "!"])}`);
        sentence = [];
      }
    }
    if (sentence.length > 0)
      sentences.push(`${capitalize(sentence.join(" "))}${role === "USER" ? "?" : "."}`);
    return sentences.join(" ");
  }

  private token(): string {
    const u = this.random();
    if (u < 0.0005) return this.oneOf(rareWords);
    if (u < 0.012) return this.identifier();
    if (u < 0.015) return this.oneOf(ERROR_CODES);
    if (u < 0.017) return this.oneOf(PATHS);
    if (u < 0.018) return this.oneOf(SITES);
    if (u < 0.03) return String(this.int(0, 5000));
    if (u < 0.031) return this.oneOf(["<div>", "<br>", "<script>", "&amp;", "<b>"]);
    return this.word();
  }

  private identifier(): string {
    return `${this.oneOf(IDENTIFIER_PARTS.verb)}${this.oneOf(IDENTIFIER_PARTS.noun)}${this.oneOf(IDENTIFIER_PARTS.suffix)}`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
