
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
      "Conversation",
      "Message"
    ]
  }
};
      export default result;
    