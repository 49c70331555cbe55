import { builder } from "./builder.js";
import "./scalars.js";
import "./root.js";
import "./viewer.js";
import "./tool-call.js";
import "./message.js";
import "./attachment.js";
import "./feedback.js";
import "./conversation.js";
import "./settings.js";
import "./stream.js";
import "./branches.js";
import "./search.js";
import "./tools.js";
import "./viewer-events.js";
import "./sharing.js";
import "./exchange.js";

/** The executable GraphQL schema. */
export const schema = builder.toSchema({ sortSchema: false });
