/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment ConversationFields on Conversation {\n    id\n    title\n    createdAt\n    updatedAt\n    lastActivityAt\n    archivedAt\n    messageCount\n  }\n": typeof types.ConversationFieldsFragmentDoc,
    "\n  query Viewer {\n    viewer {\n      id\n      conversationCount\n      archivedCount: conversationCount(archived: true)\n    }\n  }\n": typeof types.ViewerDocument,
    "\n  query Conversations($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {\n    conversations(first: $first, after: $after, last: $last, before: $before, archived: $archived) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...ConversationFields\n          lastMessage {\n            id\n            role\n            content\n            position\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n    }\n  }\n": typeof types.ConversationsDocument,
    "\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n": typeof types.ConversationDocument,
    "\n  query Messages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      messages(first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        edges {\n          cursor\n          node {\n            id\n            position\n            role\n            content\n            status\n            error\n            model\n            clientMessageId\n            usage {\n              promptTokens\n              completionTokens\n              totalTokens\n            }\n            toolCalls {\n              id\n              name\n              arguments\n              result\n              isError\n            }\n            conversation {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n      }\n    }\n  }\n": typeof types.MessagesDocument,
    "\n  query Node($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Conversation {\n        title\n      }\n      ... on Message {\n        content\n      }\n    }\n  }\n": typeof types.NodeDocument,
    "\n  mutation CreateConversation($title: String) {\n    createConversation(input: { title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": typeof types.CreateConversationDocument,
    "\n  mutation RenameConversation($id: ID!, $title: String!) {\n    renameConversation(input: { id: $id, title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": typeof types.RenameConversationDocument,
    "\n  mutation ArchiveConversation($id: ID!) {\n    archiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": typeof types.ArchiveConversationDocument,
    "\n  mutation UnarchiveConversation($id: ID!) {\n    unarchiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": typeof types.UnarchiveConversationDocument,
    "\n  mutation DeleteConversation($id: ID!) {\n    deleteConversation(input: { id: $id }) {\n      deletedId\n    }\n  }\n": typeof types.DeleteConversationDocument,
    "\n  fragment StreamEventFields on MessageStreamEvent {\n    __typename\n    ... on MessageCreated {\n      seq\n      message {\n        id\n        role\n        content\n        status\n        position\n        clientMessageId\n        conversation {\n          id\n          title\n          messageCount\n        }\n      }\n    }\n    ... on TextDelta {\n      seq\n      messageId\n      delta\n    }\n    ... on ToolCallStarted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n      }\n    }\n    ... on ToolCallCompleted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n        completedAt\n      }\n    }\n    ... on MessageSnapshot {\n      seq\n      message {\n        id\n        content\n        status\n      }\n    }\n    ... on MessageCompleted {\n      seq\n      message {\n        id\n        content\n        status\n        error\n        model\n        usage {\n          promptTokens\n          completionTokens\n          totalTokens\n        }\n        toolCalls {\n          id\n          name\n          result\n          isError\n        }\n      }\n    }\n  }\n": typeof types.StreamEventFieldsFragmentDoc,
    "\n  subscription SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...StreamEventFields\n    }\n  }\n": typeof types.SendMessageDocument,
    "\n  subscription MessageStream($messageId: ID!, $afterSeq: Int) {\n    messageStream(messageId: $messageId, afterSeq: $afterSeq) {\n      ...StreamEventFields\n    }\n  }\n": typeof types.MessageStreamDocument,
    "\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(input: { messageId: $messageId }) {\n      message {\n        id\n        status\n        content\n      }\n    }\n  }\n": typeof types.StopGenerationDocument,
};
const documents: Documents = {
    "\n  fragment ConversationFields on Conversation {\n    id\n    title\n    createdAt\n    updatedAt\n    lastActivityAt\n    archivedAt\n    messageCount\n  }\n": types.ConversationFieldsFragmentDoc,
    "\n  query Viewer {\n    viewer {\n      id\n      conversationCount\n      archivedCount: conversationCount(archived: true)\n    }\n  }\n": types.ViewerDocument,
    "\n  query Conversations($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {\n    conversations(first: $first, after: $after, last: $last, before: $before, archived: $archived) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...ConversationFields\n          lastMessage {\n            id\n            role\n            content\n            position\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n    }\n  }\n": types.ConversationsDocument,
    "\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n": types.ConversationDocument,
    "\n  query Messages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      messages(first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        edges {\n          cursor\n          node {\n            id\n            position\n            role\n            content\n            status\n            error\n            model\n            clientMessageId\n            usage {\n              promptTokens\n              completionTokens\n              totalTokens\n            }\n            toolCalls {\n              id\n              name\n              arguments\n              result\n              isError\n            }\n            conversation {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n      }\n    }\n  }\n": types.MessagesDocument,
    "\n  query Node($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Conversation {\n        title\n      }\n      ... on Message {\n        content\n      }\n    }\n  }\n": types.NodeDocument,
    "\n  mutation CreateConversation($title: String) {\n    createConversation(input: { title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": types.CreateConversationDocument,
    "\n  mutation RenameConversation($id: ID!, $title: String!) {\n    renameConversation(input: { id: $id, title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": types.RenameConversationDocument,
    "\n  mutation ArchiveConversation($id: ID!) {\n    archiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": types.ArchiveConversationDocument,
    "\n  mutation UnarchiveConversation($id: ID!) {\n    unarchiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n": types.UnarchiveConversationDocument,
    "\n  mutation DeleteConversation($id: ID!) {\n    deleteConversation(input: { id: $id }) {\n      deletedId\n    }\n  }\n": types.DeleteConversationDocument,
    "\n  fragment StreamEventFields on MessageStreamEvent {\n    __typename\n    ... on MessageCreated {\n      seq\n      message {\n        id\n        role\n        content\n        status\n        position\n        clientMessageId\n        conversation {\n          id\n          title\n          messageCount\n        }\n      }\n    }\n    ... on TextDelta {\n      seq\n      messageId\n      delta\n    }\n    ... on ToolCallStarted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n      }\n    }\n    ... on ToolCallCompleted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n        completedAt\n      }\n    }\n    ... on MessageSnapshot {\n      seq\n      message {\n        id\n        content\n        status\n      }\n    }\n    ... on MessageCompleted {\n      seq\n      message {\n        id\n        content\n        status\n        error\n        model\n        usage {\n          promptTokens\n          completionTokens\n          totalTokens\n        }\n        toolCalls {\n          id\n          name\n          result\n          isError\n        }\n      }\n    }\n  }\n": types.StreamEventFieldsFragmentDoc,
    "\n  subscription SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...StreamEventFields\n    }\n  }\n": types.SendMessageDocument,
    "\n  subscription MessageStream($messageId: ID!, $afterSeq: Int) {\n    messageStream(messageId: $messageId, afterSeq: $afterSeq) {\n      ...StreamEventFields\n    }\n  }\n": types.MessageStreamDocument,
    "\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(input: { messageId: $messageId }) {\n      message {\n        id\n        status\n        content\n      }\n    }\n  }\n": types.StopGenerationDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ConversationFields on Conversation {\n    id\n    title\n    createdAt\n    updatedAt\n    lastActivityAt\n    archivedAt\n    messageCount\n  }\n"): (typeof documents)["\n  fragment ConversationFields on Conversation {\n    id\n    title\n    createdAt\n    updatedAt\n    lastActivityAt\n    archivedAt\n    messageCount\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer {\n      id\n      conversationCount\n      archivedCount: conversationCount(archived: true)\n    }\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer {\n      id\n      conversationCount\n      archivedCount: conversationCount(archived: true)\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Conversations($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {\n    conversations(first: $first, after: $after, last: $last, before: $before, archived: $archived) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...ConversationFields\n          lastMessage {\n            id\n            role\n            content\n            position\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Conversations($first: Int, $after: String, $last: Int, $before: String, $archived: Boolean) {\n    conversations(first: $first, after: $after, last: $last, before: $before, archived: $archived) {\n      totalCount\n      edges {\n        cursor\n        node {\n          ...ConversationFields\n          lastMessage {\n            id\n            role\n            content\n            position\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n"): (typeof documents)["\n  query Conversation($id: ID!) {\n    conversation(id: $id) {\n      ...ConversationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Messages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      messages(first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        edges {\n          cursor\n          node {\n            id\n            position\n            role\n            content\n            status\n            error\n            model\n            clientMessageId\n            usage {\n              promptTokens\n              completionTokens\n              totalTokens\n            }\n            toolCalls {\n              id\n              name\n              arguments\n              result\n              isError\n            }\n            conversation {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Messages($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {\n    conversation(id: $id) {\n      id\n      messages(first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        edges {\n          cursor\n          node {\n            id\n            position\n            role\n            content\n            status\n            error\n            model\n            clientMessageId\n            usage {\n              promptTokens\n              completionTokens\n              totalTokens\n            }\n            toolCalls {\n              id\n              name\n              arguments\n              result\n              isError\n            }\n            conversation {\n              id\n            }\n          }\n        }\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Node($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Conversation {\n        title\n      }\n      ... on Message {\n        content\n      }\n    }\n  }\n"): (typeof documents)["\n  query Node($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Conversation {\n        title\n      }\n      ... on Message {\n        content\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateConversation($title: String) {\n    createConversation(input: { title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateConversation($title: String) {\n    createConversation(input: { title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenameConversation($id: ID!, $title: String!) {\n    renameConversation(input: { id: $id, title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RenameConversation($id: ID!, $title: String!) {\n    renameConversation(input: { id: $id, title: $title }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ArchiveConversation($id: ID!) {\n    archiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ArchiveConversation($id: ID!) {\n    archiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UnarchiveConversation($id: ID!) {\n    unarchiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation UnarchiveConversation($id: ID!) {\n    unarchiveConversation(input: { id: $id }) {\n      conversation {\n        ...ConversationFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteConversation($id: ID!) {\n    deleteConversation(input: { id: $id }) {\n      deletedId\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteConversation($id: ID!) {\n    deleteConversation(input: { id: $id }) {\n      deletedId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment StreamEventFields on MessageStreamEvent {\n    __typename\n    ... on MessageCreated {\n      seq\n      message {\n        id\n        role\n        content\n        status\n        position\n        clientMessageId\n        conversation {\n          id\n          title\n          messageCount\n        }\n      }\n    }\n    ... on TextDelta {\n      seq\n      messageId\n      delta\n    }\n    ... on ToolCallStarted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n      }\n    }\n    ... on ToolCallCompleted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n        completedAt\n      }\n    }\n    ... on MessageSnapshot {\n      seq\n      message {\n        id\n        content\n        status\n      }\n    }\n    ... on MessageCompleted {\n      seq\n      message {\n        id\n        content\n        status\n        error\n        model\n        usage {\n          promptTokens\n          completionTokens\n          totalTokens\n        }\n        toolCalls {\n          id\n          name\n          result\n          isError\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  fragment StreamEventFields on MessageStreamEvent {\n    __typename\n    ... on MessageCreated {\n      seq\n      message {\n        id\n        role\n        content\n        status\n        position\n        clientMessageId\n        conversation {\n          id\n          title\n          messageCount\n        }\n      }\n    }\n    ... on TextDelta {\n      seq\n      messageId\n      delta\n    }\n    ... on ToolCallStarted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n      }\n    }\n    ... on ToolCallCompleted {\n      seq\n      messageId\n      toolCall {\n        id\n        server\n        name\n        arguments\n        result\n        isError\n        completedAt\n      }\n    }\n    ... on MessageSnapshot {\n      seq\n      message {\n        id\n        content\n        status\n      }\n    }\n    ... on MessageCompleted {\n      seq\n      message {\n        id\n        content\n        status\n        error\n        model\n        usage {\n          promptTokens\n          completionTokens\n          totalTokens\n        }\n        toolCalls {\n          id\n          name\n          result\n          isError\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...StreamEventFields\n    }\n  }\n"): (typeof documents)["\n  subscription SendMessage($input: SendMessageInput!) {\n    sendMessage(input: $input) {\n      ...StreamEventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription MessageStream($messageId: ID!, $afterSeq: Int) {\n    messageStream(messageId: $messageId, afterSeq: $afterSeq) {\n      ...StreamEventFields\n    }\n  }\n"): (typeof documents)["\n  subscription MessageStream($messageId: ID!, $afterSeq: Int) {\n    messageStream(messageId: $messageId, afterSeq: $afterSeq) {\n      ...StreamEventFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(input: { messageId: $messageId }) {\n      message {\n        id\n        status\n        content\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation StopGeneration($messageId: ID!) {\n    stopGeneration(input: { messageId: $messageId }) {\n      message {\n        id\n        status\n        content\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;