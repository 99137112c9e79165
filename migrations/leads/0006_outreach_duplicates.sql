-- lead-store (issue 5): outreach messages on the timeline, the `qualified`
-- suggestion, and duplicate candidates.

-- One row per outreach message about a lead: a CRM request (request_id, until
-- outreach answers) and/or an outreach result (message_id). It points at the
-- lead's timeline entry, which is updated in place as the delivery status
-- advances (pending → sent → delivered → read; failed with the error).
CREATE TABLE outreach_messages (
  id          bigserial PRIMARY KEY,
  tenant      text NOT NULL,
  lead_id     uuid NOT NULL REFERENCES leads (id),
  activity_id bigint NOT NULL REFERENCES lead_activities (id),
  request_id  text,
  message_id  text,
  channel     text NOT NULL,
  purpose     text,
  status      text NOT NULL CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed')),
  retryable   boolean NOT NULL DEFAULT false,   -- of the failure, when status = failed
  contacted   boolean NOT NULL DEFAULT false,   -- the contact was recorded on the lead for this message
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX outreach_messages_request ON outreach_messages (tenant, request_id) WHERE request_id IS NOT NULL;
CREATE UNIQUE INDEX outreach_messages_message ON outreach_messages (tenant, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX outreach_messages_lead ON outreach_messages (lead_id);

-- The stage the pipeline suggests (e.g. `qualified` on a register / visit
-- intent after contact); a person accepts it through the normal stage change.
ALTER TABLE leads
  ADD COLUMN suggested_stage  text,
  ADD COLUMN suggested_reason text,
  ADD COLUMN suggested_at     timestamptz;

-- Pairs of leads that may be one person (a phone variant, the same e-mail with
-- another phone). Never merged automatically: a person merges (merge endpoint,
-- which marks the pair merged) or dismisses the pair (never proposed again).
CREATE TABLE duplicate_candidates (
  id            uuid PRIMARY KEY,
  tenant        text NOT NULL,
  lead_id       uuid NOT NULL REFERENCES leads (id),   -- the lead the incoming data landed on
  other_lead_id uuid NOT NULL REFERENCES leads (id),   -- the existing lead it resembles
  reason        text NOT NULL,                         -- brazil_ninth_digit | country_code | email
  detail        jsonb NOT NULL DEFAULT '{}',
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'merged')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  resolved_at   timestamptz,
  resolved_by   text,
  CHECK (lead_id <> other_lead_id)
);
CREATE UNIQUE INDEX duplicate_candidates_pair
  ON duplicate_candidates (tenant, LEAST(lead_id, other_lead_id), GREATEST(lead_id, other_lead_id));
CREATE INDEX duplicate_candidates_open ON duplicate_candidates (tenant, created_at DESC, id DESC) WHERE status = 'open';
