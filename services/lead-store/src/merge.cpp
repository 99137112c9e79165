#include "merge.hpp"

#include <algorithm>
#include <stdexcept>

namespace leadpipe::leads {
namespace {

double confidence(const Lead& l, const std::string& field) {
  auto it = l.confidence.find(field);
  return it == l.confidence.end() ? 0.0 : it->second;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::optional<std::string> score_text(const Lead& l) {
  if (!l.score) return std::nullopt;
  return std::to_string(*l.score);
}

}  // namespace

LeadMerge merge_leads(const Lead& survivor, const std::vector<Lead>& absorbed,
                      const Pipeline& pipeline, const std::string& now) {
  if (absorbed.empty()) throw std::invalid_argument("nothing to merge");
  for (const auto& a : absorbed) {
    if (a.id == survivor.id) throw std::invalid_argument("a lead cannot be merged into itself");
    if (a.tenant != survivor.tenant) throw std::invalid_argument("leads of different tenants");
  }
  LeadMerge m;
  m.lead = survivor;
  Lead& out = m.lead;
  auto decide = [&](const char* field, const std::optional<std::string>& before,
                    const std::optional<std::string>& after, const std::string& from) {
    m.fields.push_back({field, before, after, from});
    if (before != after) m.changed.emplace_back(field);
  };

  // By confidence: name, email, program.
  auto by_confidence = [&](const char* field, std::optional<std::string> Lead::*member) {
    const auto before = survivor.*member;
    std::string from = survivor.id;
    double best = (survivor.*member) ? confidence(survivor, field) : -1.0;
    for (const auto& a : absorbed) {
      if (!(a.*member)) continue;
      const double c = confidence(a, field);
      if (!(out.*member) || c > best) {
        out.*member = a.*member;
        out.confidence[field] = c;
        best = c;
        from = a.id;
      }
    }
    decide(field, before, out.*member, from);
  };
  by_confidence("name", &Lead::name);
  by_confidence("email", &Lead::email);
  by_confidence("program", &Lead::program);

  // The survivor's unless empty: phone, session year, interest, owners.
  auto first_set = [&](const char* field, std::optional<std::string> Lead::*member) {
    const auto before = survivor.*member;
    std::string from = survivor.id;
    for (std::size_t i = 0; !(out.*member) && i < absorbed.size(); ++i) {
      if (absorbed[i].*member) {
        out.*member = absorbed[i].*member;
        if (auto it = absorbed[i].confidence.find(field); it != absorbed[i].confidence.end()) {
          out.confidence[field] = it->second;
        }
        from = absorbed[i].id;
      }
    }
    decide(field, before, out.*member, from);
  };
  first_set("phone", &Lead::phone);
  first_set("session_year", &Lead::session_year);
  first_set("interest", &Lead::interest);
  first_set("assigned_to", &Lead::assigned_to);
  first_set("counsellor", &Lead::counsellor);
  first_set("owner", &Lead::owner);

  // Score, tier and reasons from the highest score.
  {
    const Lead* best = &survivor;
    for (const auto& a : absorbed) {
      if (a.score && (!best->score || *a.score > *best->score)) best = &a;
    }
    const auto before = score_text(survivor);
    out.score = best->score;
    out.tier = best->tier;
    out.score_reasons = best->score_reasons;
    decide("score", before, score_text(out), best->id);
    decide("tier", survivor.tier, out.tier, best->id);
  }

  // Unions.
  auto unite = [&](const char* field, std::vector<std::string> Lead::*member) {
    const auto before = join(survivor.*member);
    for (const auto& a : absorbed) {
      for (const auto& v : a.*member) {
        auto& list = out.*member;
        if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
      }
    }
    decide(field, before, join(out.*member), survivor.id);
  };
  unite("intents", &Lead::intents);
  unite("tags", &Lead::tags);

  // Stage: the furthest open stage; terminals are never taken over.
  {
    auto index = [&](const std::string& key) {
      auto it = std::find(pipeline.stages.begin(), pipeline.stages.end(), key);
      return it == pipeline.stages.end() ? -1 : static_cast<int>(it - pipeline.stages.begin());
    };
    std::string from = survivor.id;
    if (!pipeline.is_terminal(survivor.stage)) {
      for (const auto& a : absorbed) {
        if (pipeline.is_terminal(a.stage) || !pipeline.has(a.stage)) continue;
        if (index(a.stage) > index(out.stage)) {
          out.stage = a.stage;
          from = a.id;
        }
      }
    }
    decide("stage", survivor.stage, out.stage, from);
    if (out.stage != survivor.stage) {
      m.previous_stage = survivor.stage;
      out.stage_changed_at = now;
    }
  }

  // Dates and origin.
  {
    std::string from = survivor.id;
    for (const auto& a : absorbed) {
      if (a.last_contacted_at &&
          (!out.last_contacted_at || *a.last_contacted_at > *out.last_contacted_at)) {
        out.last_contacted_at = a.last_contacted_at;
        from = a.id;
      }
    }
    decide("last_contacted_at", survivor.last_contacted_at, out.last_contacted_at, from);
    const Lead* first = &survivor;
    for (const auto& a : absorbed) {
      if (a.created_at < first->created_at) first = &a;
    }
    out.created_at = first->created_at;
    out.source = first->source;
    out.channel = first->channel;
    decide("source", survivor.source, out.source, first->id);
  }

  out.version = survivor.version + 1;  // a merge always changes the survivor (it absorbs others)
  out.updated_at = now;
  return m;
}

}  // namespace leadpipe::leads
