import { builder } from "./builder.js";
import "./scalars.js";
import "./root.js";
import "./viewer.js";
import "./tool-call.js";
import "./message.js";
import "./attachment.js";
import "./feedback.js";
import "./conversation.js";
import "./stream.js";
import "./branches.js";
import "./search.js";
import "./tools.js";

/** The executable GraphQL schema. */
export const schema = builder.toSchema({ sortSchema: false });
