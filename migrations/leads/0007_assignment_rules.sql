-- lead-store (issue 5): automatic assignment rules per team. A lead created
-- without a telecaller (from any source) goes to the first active team whose
-- filters match it, and within the team to a member by the team's strategy,
-- within each member's daily capacity.

CREATE TABLE assignment_teams (
  tenant           text NOT NULL,
  team             text NOT NULL,
  strategy         text NOT NULL CHECK (strategy IN ('round_robin', 'least_loaded')),
  active           boolean NOT NULL DEFAULT true,
  capacity_per_day integer CHECK (capacity_per_day > 0),   -- per member, unless the member sets one; NULL = unlimited
  sources          text[] NOT NULL DEFAULT '{}',            -- lead sources the team takes ({} = any)
  owner            text,                                     -- sales head whose pool it serves (NULL = any lead)
  position         integer NOT NULL,                         -- evaluation order
  rr_next          integer NOT NULL DEFAULT 0,               -- round robin: the member position to try first
  updated_by       text NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, team)
);

CREATE TABLE assignment_members (
  tenant           text NOT NULL,
  team             text NOT NULL,
  member           text NOT NULL,                            -- user id (JWT sub)
  active           boolean NOT NULL DEFAULT true,
  capacity_per_day integer CHECK (capacity_per_day > 0),
  position         integer NOT NULL,
  PRIMARY KEY (tenant, team, member),
  FOREIGN KEY (tenant, team) REFERENCES assignment_teams (tenant, team) ON DELETE CASCADE
);

-- Leads given to a member by the rules per UTC day (a member's capacity holds across teams).
CREATE TABLE assignment_daily (
  tenant   text NOT NULL,
  member   text NOT NULL,
  day      date NOT NULL,
  assigned integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, member, day)
);

-- Leads a matching team could not take (every member inactive or at capacity), per UTC day.
CREATE TABLE assignment_unassigned (
  tenant text NOT NULL,
  team   text NOT NULL,
  day    date NOT NULL,
  leads  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, team, day)
);
