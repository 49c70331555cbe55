import { graphql } from "../generated/index.js";

// The operations the tests send. `npm run codegen` types them from schema.graphql.

export const ConversationFields = graphql(`
  fragment ConversationFields on Conversation {
    id
    title
    createdAt
    updatedAt
    lastActivityAt
    archivedAt
    messageCount
  }
`);

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      conversationCount
      archivedCount: conversationCount(archived: true)
    }
  }
`);

export const ConversationsQuery = graphql(`
  query Conversations($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {
    conversations(first: $first, after: $after, last: $last, before: $before, archived: $archived) {
      totalCount
      edges {
        cursor
        node {
          ...ConversationFields
          lastMessage {
            id
            role
            content
            position
          }
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
    }
  }
`);

export const ConversationQuery = graphql(`
  query Conversation($id: ID!) {
    conversation(id: $id) {
      ...ConversationFields
    }
  }
`);

export const MessagesQuery = graphql(`
  query Messages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    conversation(id: $id) {
      id
      messages(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        edges {
          cursor
          node {
            id
            position
            role
            content
            status
            error
            model
            clientMessageId
            usage {
              promptTokens
              completionTokens
              totalTokens
            }
            toolCalls {
              id
              name
              arguments
              result
              resultLength
              resultTruncated
              isError
            }
            conversation {
              id
            }
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  }
`);

export const NodeQuery = graphql(`
  query Node($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Conversation {
        title
      }
      ... on Message {
        content
      }
    }
  }
`);

export const CreateConversation = graphql(`
  mutation CreateConversation($title: String) {
    createConversation(input: { title: $title }) {
      conversation {
        ...ConversationFields
      }
    }
  }
`);

export const RenameConversation = graphql(`
  mutation RenameConversation($id: ID!, $title: String!) {
    renameConversation(input: { id: $id, title: $title }) {
      conversation {
        ...ConversationFields
      }
    }
  }
`);

export const ArchiveConversation = graphql(`
  mutation ArchiveConversation($id: ID!) {
    archiveConversation(input: { id: $id }) {
      conversation {
        ...ConversationFields
      }
    }
  }
`);

export const UnarchiveConversation = graphql(`
  mutation UnarchiveConversation($id: ID!) {
    unarchiveConversation(input: { id: $id }) {
      conversation {
        ...ConversationFields
      }
    }
  }
`);

export const DeleteConversation = graphql(`
  mutation DeleteConversation($id: ID!) {
    deleteConversation(input: { id: $id }) {
      deletedId
    }
  }
`);

export const StreamEventFields = graphql(`
  fragment StreamEventFields on MessageStreamEvent {
    __typename
    ... on MessageCreated {
      seq
      message {
        id
        role
        content
        status
        position
        clientMessageId
        conversation {
          id
          title
          messageCount
        }
      }
    }
    ... on TextDelta {
      seq
      messageId
      delta
    }
    ... on ToolCallStarted {
      seq
      messageId
      toolCall {
        id
        server
        name
        arguments
        result
        isError
      }
    }
    ... on ToolCallCompleted {
      seq
      messageId
      toolCall {
        id
        server
        name
        arguments
        result
        resultLength
        resultTruncated
        isError
        completedAt
      }
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
        result
        isError
      }
    }
    ... on ToolAuthorizationRequired {
      seq
      messageId
      server
      authorizationUrl
    }
    ... on MessageSnapshot {
      seq
      message {
        id
        content
        status
      }
    }
    ... on MessageCompleted {
      seq
      message {
        id
        content
        status
        error
        model
        usage {
          promptTokens
          completionTokens
          totalTokens
        }
        toolCalls {
          id
          name
          result
          resultLength
          resultTruncated
          isError
        }
      }
    }
  }
`);

export const SendMessage = graphql(`
  subscription SendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      ...StreamEventFields
    }
  }
`);

export const MessageStream = graphql(`
  subscription MessageStream($messageId: ID!, $afterSeq: Int) {
    messageStream(messageId: $messageId, afterSeq: $afterSeq) {
      ...StreamEventFields
    }
  }
`);

export const StopGeneration = graphql(`
  mutation StopGeneration($messageId: ID!) {
    stopGeneration(input: { messageId: $messageId }) {
      message {
        id
        status
        content
      }
    }
  }
`);

export const TreeMessageFields = graphql(`
  fragment TreeMessageFields on Message {
    id
    role
    content
    status
    siblingIndex
    siblingCount
    isOnActivePath
    parent {
      id
    }
    siblings {
      id
    }
  }
`);

export const TreeQuery = graphql(`
  query Tree($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    conversation(id: $id) {
      id
      messageCount
      activeLeaf {
        id
      }
      messages(first: $first, after: $after, last: $last, before: $before) {
        totalCount
        edges {
          node {
            ...TreeMessageFields
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  }
`);

export const EditMessage = graphql(`
  subscription EditMessage($input: EditMessageInput!) {
    editMessage(input: $input) {
      ...StreamEventFields
    }
  }
`);

export const RegenerateReply = graphql(`
  subscription RegenerateReply($input: RegenerateReplyInput!) {
    regenerateReply(input: $input) {
      ...StreamEventFields
    }
  }
`);

export const SwitchBranch = graphql(`
  mutation SwitchBranch($messageId: ID!) {
    switchBranch(input: { messageId: $messageId }) {
      conversation {
        id
        activeLeaf {
          id
        }
      }
    }
  }
`);

export const ForkConversation = graphql(`
  mutation ForkConversation($messageId: ID!, $title: String) {
    forkConversation(input: { messageId: $messageId, title: $title }) {
      conversation {
        id
        title
        messageCount
        activeLeaf {
          id
          content
        }
      }
    }
  }
`);

export const SearchActivePath = graphql(`
  query SearchActivePath($query: String!, $activePathOnly: Boolean) {
    searchMessages(query: $query, activePathOnly: $activePathOnly) {
      totalCount
      edges {
        node {
          isOnActivePath
          message {
            id
            content
          }
        }
      }
    }
  }
`);
