
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "MessageStreamEvent": [
      "MessageCompleted",
      "MessageCreated",
      "MessageSnapshot",
      "ReasoningDelta",
      "TextDelta",
      "ToolApprovalRequested",
      "ToolAuthorizationRequired",
      "ToolCallCompleted",
      "ToolCallStarted"
    ],
    "Node": [
      "Attachment",
      "Conversation",
      "Message"
    ],
    "ViewerEvent": [
      "ConversationCreated",
      "ConversationDeleted",
      "ConversationUpdated",
      "ReplyFinished",
      "ReplyStarted"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "MessageStreamEvent": [
      "MessageCompleted",
      "MessageCreated",
      "MessageSnapshot",
      "ReasoningDelta",
      "TextDelta",
      "ToolApprovalRequested",
      "ToolAuthorizationRequired",
      "ToolCallCompleted",
      "ToolCallStarted"
    ],
    "Node": [
      "Attachment",
      "Conversation",
      "Message"
    ],
    "ViewerEvent": [
      "ConversationCreated",
      "ConversationDeleted",
      "ConversationUpdated",
      "ReplyFinished",
      "ReplyStarted"
    ]
  }
};
      export default result;
    