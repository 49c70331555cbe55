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
