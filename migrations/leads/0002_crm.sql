-- lead-store CRM: pipelines as data, stage journal, assignment (telecaller,
-- counsellor, sales-head pool), tags with categories, notes, follow-ups.

-- One pipeline per tenant (the admissions pipeline of seed 000 when absent).
-- `definition` is the JSON document parsed by Pipeline::from_json.
CREATE TABLE pipelines (
  tenant     text PRIMARY KEY,
  definition jsonb NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE leads
  ADD COLUMN counsellor        text,         -- second-line owner (seed 003 assigned_counsellor); assigned_to is the telecaller
  ADD COLUMN owner             text,         -- the sales head whose pool the lead is in
  ADD COLUMN interest          text CHECK (interest IN ('hot', 'warm', 'cold')),  -- set by hand
  ADD COLUMN session_year      text,
  ADD COLUMN last_contacted_at timestamptz,  -- last outreach / call; "oldest contact first" sort
  ADD COLUMN created_by        text,
  ADD COLUMN erased_at         timestamptz;
CREATE INDEX leads_tenant_assigned ON leads (tenant, assigned_to) WHERE deleted_at IS NULL;
CREATE INDEX leads_tenant_counsellor ON leads (tenant, counsellor) WHERE deleted_at IS NULL;
CREATE INDEX leads_tenant_owner ON leads (tenant, owner) WHERE deleted_at IS NULL;
CREATE INDEX leads_tenant_stage ON leads (tenant, stage) WHERE deleted_at IS NULL;
CREATE INDEX leads_tenant_updated ON leads (tenant, updated_at DESC, id DESC);
CREATE INDEX leads_tenant_score ON leads (tenant, (COALESCE(score, -1)) DESC,
  (COALESCE(last_contacted_at, '-infinity'::timestamptz)), id) WHERE deleted_at IS NULL;

-- Stage journal: every transition with who, when, why and the time spent in
-- the stage that was left.
CREATE TABLE stage_history (
  id                  bigserial PRIMARY KEY,
  tenant              text NOT NULL,
  lead_id             uuid NOT NULL REFERENCES leads (id),
  from_stage          text NOT NULL,
  to_stage            text NOT NULL,
  actor               text NOT NULL,
  reason              text,
  seconds_in_previous bigint NOT NULL,
  at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stage_history_lead ON stage_history (lead_id, id);

CREATE TABLE assignment_history (
  id          bigserial PRIMARY KEY,
  tenant      text NOT NULL,
  lead_id     uuid NOT NULL REFERENCES leads (id),
  role        text NOT NULL CHECK (role IN ('telecaller', 'counsellor', 'owner')),
  previous    text,
  assigned_to text,
  actor       text NOT NULL,
  reason      text,
  at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignment_history_lead ON assignment_history (lead_id, id);

-- Tag catalogue per tenant: every tag has a category (course, campaign, …).
CREATE TABLE tags (
  tenant     text NOT NULL,
  name       text NOT NULL,
  category   text NOT NULL DEFAULT 'general',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, name)
);
CREATE TABLE lead_tags (
  tenant   text NOT NULL,
  lead_id  uuid NOT NULL REFERENCES leads (id),
  tag      text NOT NULL,
  added_by text NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (lead_id, tag),
  FOREIGN KEY (tenant, tag) REFERENCES tags (tenant, name)
);
CREATE INDEX lead_tags_tenant_tag ON lead_tags (tenant, tag);

CREATE TABLE notes (
  id         uuid PRIMARY KEY,
  tenant     text NOT NULL,
  lead_id    uuid NOT NULL REFERENCES leads (id),
  author     text NOT NULL,
  body       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_lead ON notes (lead_id, created_at);

CREATE TABLE followups (
  id                uuid PRIMARY KEY,
  tenant            text NOT NULL,
  lead_id           uuid NOT NULL REFERENCES leads (id),
  kind              text NOT NULL DEFAULT 'call',
  note              text,
  assigned_to       text,
  due_at            timestamptz NOT NULL,
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled')),
  created_by        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  completed_at      timestamptz,
  completed_by      text,
  outcome_note      text,
  cancel_reason     text,
  snoozes           integer NOT NULL DEFAULT 0,
  due_published_at  timestamptz     -- followup.due written to the outbox (reset by a snooze)
);
CREATE INDEX followups_lead ON followups (lead_id, due_at);
-- The scheduler's scan: pending follow-ups not yet announced, by due time.
CREATE INDEX followups_to_announce ON followups (due_at) WHERE status = 'pending' AND due_published_at IS NULL;
CREATE INDEX followups_pending_tenant ON followups (tenant, lead_id, due_at) WHERE status = 'pending';
