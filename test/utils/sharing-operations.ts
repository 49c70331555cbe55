import { graphql } from "../generated/index.js";

// The operations of share links, export and import that test/integration/sharing.test.ts and
// import-export.test.ts send.

export const ShareConversation = graphql(`
  mutation ShareConversation($id: ID!, $upToMessageId: ID!) {
    shareConversation(input: { id: $id, upToMessageId: $upToMessageId }) {
      share {
        id
        url
        createdAt
      }
    }
  }
`);

export const RevokeShare = graphql(`
  mutation RevokeShare($id: ID!) {
    revokeShare(input: { id: $id }) {
      revokedShareId
    }
  }
`);

export const SharedAttachmentsQuery = graphql(`
  query SharedAttachments($token: String!) {
    sharedConversation(token: $token) {
      messages {
        content
        attachments {
          filename
          contentType
          size
          kind
          url
        }
      }
    }
  }
`);

export const ViewerShares = graphql(`
  query ViewerShares($first: Int, $after: String) {
    viewer {
      shares(first: $first, after: $after) {
        totalCount
        edges {
          node {
            id
            title
            createdAt
            conversation {
              id
            }
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const SharedConversationQuery = graphql(`
  query SharedConversation($token: String!) {
    sharedConversation(token: $token) {
      title
      createdAt
      messages {
        role
        content
        createdAt
        toolCalls {
          name
          arguments
          result
          isError
        }
      }
    }
  }
`);

export const ImportSharedConversation = graphql(`
  mutation ImportSharedConversation($token: String!) {
    importSharedConversation(input: { token: $token }) {
      conversation {
        id
        title
        messageCount
        messages(first: 50) {
          edges {
            node {
              role
              content
              toolCalls {
                name
                result
              }
            }
          }
        }
      }
    }
  }
`);

export const ExportConversations = graphql(`
  mutation ExportConversations($ids: [ID!], $includeFiles: Boolean) {
    exportConversations(input: { ids: $ids, includeFiles: $includeFiles }) {
      url
      expiresAt
    }
  }
`);

export const ImportConversations = graphql(`
  mutation ImportConversations($file: File!, $format: ImportFormat!) {
    importConversations(input: { file: $file, format: $format }) {
      skippedMessages
      skippedAttachments
      conversations {
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

export const ActivePath = graphql(`
  query ActivePath($id: ID!) {
    conversation(id: $id) {
      id
      messages(first: 100) {
        edges {
          node {
            role
            content
            siblingCount
            siblingIndex
          }
        }
      }
    }
  }
`);
