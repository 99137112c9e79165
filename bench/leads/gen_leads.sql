-- 1,000,000 (:n) generated leads for tenant :'tenant', straight into the
-- migrated schema (psql -v tenant=bench -v n=1000000 -f gen_leads.sql).
-- Distributions (roughly an admissions CRM two years in):
--   stage    incomplete 8 %, new 35 %, contacted 30 %, qualified 15 %, enrolled 5 %, lost 7 %
--   tier     hot 15 %, warm 35 %, cold 40 %, none 10 % (score follows the tier)
--   source   whatsapp 50 %, vendor 20 %, campaign 15 %, csv 10 %, manual 5 %
--   tags     0–3 of 20, skewed (expo-jakarta on ~12 %, the rarest on ~1 %)
--   people   40 telecallers (10 % unassigned), 15 counsellors (60 % none), 5 sales-head pools
--   contact  Indonesian first + last names from 60 × 60, unique E.164 mobile
--            (+628…, 95 % of leads), e-mail on 70 % (always when no phone)
--   time     created over the last 730 days, updated between then and now
-- The indexes are dropped for the load and rebuilt afterwards (the same
-- definitions, read from pg_indexes): much faster than maintaining them row by row.
\set ON_ERROR_STOP on
SET maintenance_work_mem = '512MB';
SET synchronous_commit = off;

CREATE TEMP TABLE bench_saved_indexes AS
  SELECT indexname, indexdef FROM pg_indexes
  WHERE schemaname = 'leads' AND tablename = 'leads' AND indexname <> 'leads_pkey';
SELECT format('DROP INDEX leads.%I', indexname) FROM bench_saved_indexes \gexec

INSERT INTO leads.leads (id, tenant, name, phone, email, program, stage, source, channel, score, tier,
                         score_reasons, assigned_to, counsellor, owner, interest, session_year,
                         last_contacted_at, created_by, tags, version, stage_changed_at, created_at, updated_at)
SELECT gen_random_uuid(), :'tenant', g.name, g.phone,
       CASE WHEN g.phone IS NULL OR g.r_mail < 0.70
            THEN lower(replace(g.first, ' ', '')) || '.' || lower(g.last) || g.i || '@' ||
                 (ARRAY['gmail.com', 'yahoo.co.id', 'outlook.com', 'example.ac.id'])[1 + (g.i % 4)] END,
       (ARRAY['S1 Keperawatan', 'S1 Farmasi', 'D3 Kebidanan', 'S1 Manajemen', 'S1 Informatika',
              'S1 Hukum', 'D3 Akuntansi', 'S2 Manajemen'])[1 + (g.i * 7 % 8)],
       g.stage, g.source,
       CASE g.source WHEN 'whatsapp' THEN 'whatsapp' WHEN 'vendor' THEN 'vendor' WHEN 'campaign' THEN 'web' END,
       CASE g.tier WHEN 'hot' THEN 75 + (g.i % 25) WHEN 'warm' THEN 45 + (g.i % 30)
                   WHEN 'cold' THEN 5 + (g.i % 40) END,
       g.tier,
       CASE WHEN g.tier IS NOT NULL THEN '["intent:register","program named"]'::jsonb ELSE '[]'::jsonb END,
       CASE WHEN g.r_tc < 0.9 THEN 'telecaller' || lpad((1 + g.i % 40)::text, 2, '0') END,
       CASE WHEN g.r_tc < 0.4 THEN 'counsellor' || lpad((1 + g.i % 15)::text, 2, '0') END,
       'head' || (1 + g.i % 5),
       CASE WHEN g.r_tc < 0.05 THEN 'hot' WHEN g.r_tc < 0.15 THEN 'warm' END,
       (ARRAY['2026', '2027', '2027', '2028'])[1 + (g.i % 4)],
       CASE WHEN g.stage NOT IN ('incomplete', 'new') THEN g.created_at + (now() - g.created_at) * 0.3 END,
       'bench',
       g.tags, 1 + (g.i % 5), g.created_at + (now() - g.created_at) * 0.2, g.created_at,
       g.created_at + (now() - g.created_at) * g.r_upd
FROM (
  SELECT i, f.first, l.last,
         CASE WHEN s.r_stage < 0.08 AND i % 3 = 0 THEN NULL ELSE f.first || ' ' || l.last END AS name,
         CASE WHEN s.r_phone < 0.95
              -- i ↦ i·7919 mod 9·10⁸ is a permutation: unique numbers, scattered digits.
              THEN '+628' || (100000000 + (i::bigint * 7919) % 900000000)::text END AS phone,
         CASE WHEN s.r_stage < 0.08 THEN 'incomplete' WHEN s.r_stage < 0.43 THEN 'new'
              WHEN s.r_stage < 0.73 THEN 'contacted' WHEN s.r_stage < 0.88 THEN 'qualified'
              WHEN s.r_stage < 0.93 THEN 'enrolled' ELSE 'lost' END AS stage,
         CASE WHEN s.r_tier < 0.15 THEN 'hot' WHEN s.r_tier < 0.50 THEN 'warm'
              WHEN s.r_tier < 0.90 THEN 'cold' END AS tier,
         CASE WHEN s.r_src < 0.50 THEN 'whatsapp' WHEN s.r_src < 0.70 THEN 'vendor'
              WHEN s.r_src < 0.85 THEN 'campaign' WHEN s.r_src < 0.95 THEN 'csv' ELSE 'manual' END AS source,
         ARRAY(SELECT DISTINCT t.tag FROM unnest(ARRAY[
                 'expo-jakarta', 'expo-surabaya', 'nursing', 'pharmacy', 'midwifery', 'scholarship',
                 'open-day', 'referral', 'webinar-2026', 'ig-ads', 'fb-ads', 'tiktok', 'alumni-parent',
                 'transfer', 'evening-class', 'international', 'early-bird', 'vip', 'callback', 'no-answer'])
                 WITH ORDINALITY AS t(tag, k)
               WHERE i > 0 AND random() < 0.13 / sqrt(k)  -- i: correlated, so drawn per lead
               ORDER BY 1) AS tags,
         now() - random() * interval '730 days' AS created_at,
         s.r_mail, s.r_tc, s.r_upd
  FROM generate_series(1, :n) AS i
  CROSS JOIN LATERAL (SELECT random() AS r_stage, random() AS r_phone, random() AS r_tier, random() AS r_src,
                             random() AS r_mail, random() AS r_tc, random() AS r_upd, random() AS r_first,
                             random() AS r_last, i AS dep) AS s
  CROSS JOIN LATERAL (SELECT (ARRAY['Budi', 'Siti', 'Agus', 'Dewi', 'Rudi', 'Sri', 'Andi', 'Rina', 'Joko', 'Putri',
          'Bambang', 'Wati', 'Hendra', 'Nur', 'Eko', 'Ayu', 'Dian', 'Fajar', 'Indah', 'Rizky', 'Yuni', 'Arif',
          'Lestari', 'Wahyu', 'Maya', 'Adi', 'Ratna', 'Dedi', 'Fitri', 'Hadi', 'Sari', 'Irfan', 'Nina', 'Teguh',
          'Aulia', 'Bayu', 'Citra', 'Dimas', 'Endah', 'Galih', 'Hana', 'Ilham', 'Kartika', 'Lukman', 'Mega',
          'Nanda', 'Oki', 'Permata', 'Reza', 'Sinta', 'Tono', 'Umi', 'Vina', 'Wulan', 'Yoga', 'Zahra',
          'Ahmad', 'Muhammad Rizal', 'Anisa', 'Krisna'])[1 + floor(s.r_first * 60)::int] AS first) AS f
  CROSS JOIN LATERAL (SELECT (ARRAY['Santoso', 'Hartono', 'Wijaya', 'Saputra', 'Pratama', 'Kusuma', 'Hidayat',
          'Nugroho', 'Setiawan', 'Lestari', 'Siregar', 'Nasution', 'Harahap', 'Simanjuntak', 'Gunawan', 'Halim',
          'Susanto', 'Wibowo', 'Purnomo', 'Rahman', 'Syahputra', 'Utami', 'Permana', 'Firmansyah', 'Kurniawan',
          'Ramadhan', 'Putra', 'Sari', 'Anggraini', 'Maulana', 'Hakim', 'Fauzi', 'Salim', 'Tanjung', 'Sitompul',
          'Manurung', 'Sinaga', 'Pane', 'Lubis', 'Daulay', 'Surbakti', 'Ginting', 'Tarigan', 'Sembiring', 'Barus',
          'Sihombing', 'Pardede', 'Situmorang', 'Hutapea', 'Panjaitan', 'Wirawan', 'Suryadi', 'Iskandar',
          'Effendi', 'Hasibuan', 'Rangkuti', 'Pohan', 'Batubara', 'Marpaung', 'Damanik'])[1 + floor(s.r_last * 60)::int]
          AS last) AS l
) AS g;

SELECT indexdef FROM bench_saved_indexes \gexec
VACUUM ANALYZE leads.leads;
