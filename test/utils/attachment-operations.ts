import { graphql } from "../generated/index.js";

// The operations of attachments that test/integration/attachments.test.ts sends.

export const AttachmentFields = graphql(`
  fragment AttachmentFields on Attachment {
    id
    filename
    contentType
    size
    sha256
    kind
    url
    createdAt
  }
`);

export const UploadAttachment = graphql(`
  mutation UploadAttachment($file: File!) {
    uploadAttachment(input: { file: $file }) {
      attachment {
        ...AttachmentFields
      }
    }
  }
`);

export const DeleteAttachment = graphql(`
  mutation DeleteAttachment($id: ID!) {
    deleteAttachment(input: { id: $id }) {
      deletedId
    }
  }
`);

export const MessageAttachments = graphql(`
  query MessageAttachments($id: ID!) {
    node(id: $id) {
      __typename
      ... on Message {
        content
        attachments {
          ...AttachmentFields
        }
      }
      ... on Attachment {
        filename
      }
    }
  }
`);
