import type { ColumnType, Generated, GeneratedAlways, Kysely } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** Row shapes as stored. Flags are 0/1, instants epoch ms, JSON as text. */
export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  time_zone: string;
  language: string;
  public_key: string;
  settings: string;
  created_at: number;
}
export interface UsersTable {
  id: Generated<number>;
  email: string;
  name: string;
  password_hash: string | null;
  locale: string | null;
  disabled: Generated<number>;
  created_at: number;
}
export interface SessionsTable {
  id: string;
  user_id: number;
  csrf_token: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
}
export interface MembershipsTable {
  project_id: number;
  user_id: number;
  role: Role;
  created_at: number;
  /** When round-robin distribution last gave this member a dialog (migration 009). */
  auto_assigned_at: number | null;
}
/** A manager's open workspace on one node (migration 009, services/presence.ts). */
export interface IdempotencyKeysTable {
  project_id: number;
  principal: string;
  idempotency_key: string;
  request_hash: string;
  dialog_id: number;
  message_id: number;
  dialog_created: number;
  created_at: number;
}

export interface PresenceTable {
  node_id: string;
  project_id: number;
  user_id: number;
  seen_at: number;
}
export interface ApiTokensTable {
  project_id: number;
  id: Generated<number>;
  name: string;
  role: Role;
  token_hash: string;
  created_by: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}
export interface ChannelsTable {
  project_id: number;
  id: Generated<number>;
  type: string;
  name: string;
  credentials: Generated<string>;
  config: Generated<string>;
  webhook_secret: string | null;
  enabled: Generated<number>;
  created_at: number;
  updated_at: number;
}
export interface NumbersTable {
  project_id: number;
  id: Generated<number>;
  channel_id: number;
  e164: string;
  sms_enabled: Generated<number>;
  outbound_only: number | null;
  created_at: number;
}
export interface ClientsTable {
  project_id: number;
  id: Generated<number>;
  name: Generated<string>;
  phone: string | null;
  created_at: number;
  updated_at: number;
}
export interface ClientIdentitiesTable {
  project_id: number;
  id: Generated<number>;
  client_id: number;
  channel_id: number;
  channel_type: string;
  external_id: string;
  display_name: Generated<string>;
  handle: string | null;
  unreachable: Generated<number>;
  unreachable_reason: string | null;
  created_at: number;
}
export interface AttributionColumns {
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  utm_term: string | null;
  utm_content: string | null;
  referrer: string | null;
  landing_url: string | null;
  click_ids: string | null;
  channel_group: string | null;
}
export interface VisitsTable extends AttributionColumns {
  project_id: number;
  id: Generated<number>;
  token: string;
  ga_client_id: string | null;
  messenger: string | null;
  created_at: number;
  expires_at: number;
}
export type ChannelType = 'sms' | 'telegram' | 'viber' | 'messenger';
export type DialogStatus = 'new' | 'open' | 'closed';
export type Role = 'admin' | 'supervisor' | 'manager';
export type AuthorType = 'client' | 'manager' | 'auto' | 'system';
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'received';

export interface DialogsTable extends AttributionColumns {
  project_id: number;
  id: Generated<number>;
  channel_id: number;
  channel_type: ChannelType;
  number_id: number | null;
  outbound_only: number;
  client_id: number;
  identity_id: number;
  client_name: string;
  client_phone: string | null;
  client_handle: string | null;
  /** The client's id on the platform (migration 005); optional on insert for old writers. */
  client_external_id: ColumnType<string | null, string | null | undefined, string | null>;
  search_text: string;
  status: DialogStatus;
  manager_id: number | null;
  manager_name: string | null;
  manager_sort: string;
  created_at: number;
  updated_at: number;
  closed_at: number | null;
  closed_by: number | null;
  closed_by_name: string | null;
  close_reason: string | null;
  last_message_at: number | null;
  /** floor(COALESCE(last_message_at, created_at) / 3,600,000), computed by the database (migration 010). */
  active_hour: GeneratedAlways<number>;
  last_direction: 'in' | 'out' | null;
  last_author_type: AuthorType | null;
  last_author_id: number | null;
  last_author_name: string | null;
  last_responder_type: 'client' | 'manager' | null;
  last_responder_id: number | null;
  last_responder_name: string | null;
  first_message_at: number | null;
  first_response_at: number | null;
  first_response_seconds: number | null;
  messages_in: number;
  messages_out: number;
  unread_count: number;
  visit_id: number | null;
  source: string | null;
}
export interface DialogManagersTable {
  project_id: number;
  dialog_id: number;
  user_id: number;
  assigned_at: number;
}
export interface MessagesTable {
  project_id: number;
  id: Generated<number>;
  dialog_id: number;
  channel_id: number;
  direction: 'in' | 'out';
  author_type: AuthorType;
  author_id: number | null;
  author_name: string | null;
  text: string;
  attachments: string | null;
  created_at: number;
  status: MessageStatus;
  failure_reason: string | null;
  platform_message_id: string | null;
  updated_at: number;
}
export interface InboundEventsTable {
  project_id: number;
  channel_id: number;
  platform_event_id: string;
  received_at: number;
}
export interface OutboxTable {
  project_id: number;
  id: Generated<number>;
  kind: string;
  dialog_id: number | null;
  message_id: number | null;
  payload: string;
  status: 'pending' | 'done' | 'failed';
  attempts: number;
  next_attempt_at: number;
  locked_until: number | null;
  locked_by: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}
export interface MessagePartsTable {
  project_id: number;
  channel_id: number;
  platform_message_id: string;
  message_id: number;
  seq: number;
  status: 'sent' | 'delivered' | 'failed';
  failure_reason: string | null;
}
export interface InvitesTable {
  project_id: number;
  id: Generated<number>;
  email: string;
  name: string | null;
  role: Role;
  token_hash: string;
  created_by: number | null;
  created_by_name: string | null;
  created_at: number;
  expires_at: number;
  accepted_at: number | null;
  accepted_by: number | null;
  revoked_at: number | null;
}
/** A member disabled in one project (migration 006): moved out of memberships, role kept. */
export interface DisabledMembershipsTable {
  project_id: number;
  user_id: number;
  role: Role;
  created_at: number;
  disabled_at: number;
  disabled_by: number | null;
}
export interface AuditLogTable {
  project_id: number;
  id: Generated<number>;
  actor_type: string;
  actor_id: number | null;
  actor_name: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: string;
  ip: string | null;
  created_at: number;
}

/** An outgoing webhook receiver (migration 008); `events` is a JSON array, `secret` sealed. */
export interface WebhookEndpointsTable {
  project_id: number;
  id: Generated<number>;
  url: string;
  events: string;
  secret: string;
  enabled: number;
  paused_at: number | null;
  pause_reason: string | null;
  consecutive_failures: number;
  failing_since: number | null;
  created_at: number;
}
export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';
/** One event for one endpoint (migration 008). */
export interface WebhookDeliveriesTable {
  project_id: number;
  id: Generated<number>;
  endpoint_id: number;
  uid: string;
  event_type: string;
  event_key: string;
  dialog_id: number | null;
  payload: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  first_attempt_at: number | null;
  locked_until: number | null;
  locked_by: string | null;
  response_status: number | null;
  response_body_excerpt: string | null;
  error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface Database {
  projects: ProjectsTable;
  users: UsersTable;
  sessions: SessionsTable;
  memberships: MembershipsTable;
  api_tokens: ApiTokensTable;
  channels: ChannelsTable;
  numbers: NumbersTable;
  clients: ClientsTable;
  client_identities: ClientIdentitiesTable;
  visits: VisitsTable;
  dialogs: DialogsTable;
  dialog_managers: DialogManagersTable;
  messages: MessagesTable;
  inbound_events: InboundEventsTable;
  outbox: OutboxTable;
  message_parts: MessagePartsTable;
  audit_log: AuditLogTable;
  invites: InvitesTable;
  disabled_memberships: DisabledMembershipsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  presence: PresenceTable;
  idempotency_keys: IdempotencyKeysTable;
}

export type Db = Kysely<Database>;
