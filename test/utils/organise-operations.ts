import { graphql } from "../generated/index.js";

// The operations of pins, tags and feedback that test/integration/organise.test.ts sends.

export const OrganisedConversations = graphql(`
  query OrganisedConversations(
    $first: Int
    $after: String
    $last: Int
    $before: String
    $archived: Boolean
    $pinned: Boolean
    $tag: String
  ) {
    conversations(
      first: $first
      after: $after
      last: $last
      before: $before
      archived: $archived
      pinned: $pinned
      tag: $tag
    ) {
      totalCount
      edges {
        node {
          id
          title
          pinnedAt
          tags
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

export const PinConversation = graphql(`
  mutation PinConversation($id: ID!) {
    pinConversation(input: { id: $id }) {
      conversation {
        id
        pinnedAt
        updatedAt
      }
    }
  }
`);

export const UnpinConversation = graphql(`
  mutation UnpinConversation($id: ID!) {
    unpinConversation(input: { id: $id }) {
      conversation {
        id
        pinnedAt
      }
    }
  }
`);

export const SetConversationTags = graphql(`
  mutation SetConversationTags($id: ID!, $tags: [String!]!) {
    setConversationTags(input: { id: $id, tags: $tags }) {
      conversation {
        id
        tags
      }
    }
  }
`);

export const ViewerTags = graphql(`
  query ViewerTags($archived: Boolean) {
    viewer {
      tags(archived: $archived) {
        tag
        count
      }
    }
  }
`);

export const RateMessage = graphql(`
  mutation RateMessage($messageId: ID!, $rating: FeedbackRating, $comment: String) {
    rateMessage(input: { messageId: $messageId, rating: $rating, comment: $comment }) {
      message {
        id
        role
        feedback {
          rating
          comment
          updatedAt
        }
      }
    }
  }
`);

export const MessageFeedbacks = graphql(`
  query MessageFeedbacks($id: ID!) {
    conversation(id: $id) {
      messages(first: 50) {
        edges {
          node {
            id
            role
            feedback {
              rating
              comment
            }
          }
        }
      }
    }
  }
`);
