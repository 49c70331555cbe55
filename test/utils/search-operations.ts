import { graphql } from "../generated/index.js";

// The search operations the tests send (kept apart from operations.ts). `npm run codegen` types them.

export const SearchQuery = graphql(`
  query Search($query: String!, $conversationId: ID, $first: Int, $after: String, $includeArchived: Boolean) {
    searchMessages(
      query: $query
      conversationId: $conversationId
      first: $first
      after: $after
      includeArchived: $includeArchived
    ) {
      totalCount
      edges {
        cursor
        node {
          snippet
          rank
          match
          message {
            id
            content
            role
            conversation {
              id
            }
          }
          conversation {
            id
            title
            archivedAt
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

/** A results page without `totalCount`, as a search box that shows no count asks for it. */
export const SearchPageQuery = graphql(`
  query SearchPage($query: String!, $first: Int, $after: String) {
    searchMessages(query: $query, first: $first, after: $after) {
      edges {
        cursor
        node {
          snippet
          match
          message {
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
`);
