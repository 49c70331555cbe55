
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
    ]
  }
};
      export default result;
    