#include <algorithm>
#include <string>
#include <vector>

#include "leadpipe/extract/scoring.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace leadpipe::extract {

ScoringConfig ScoringConfig::defaults() {
  ScoringConfig c;
  // Conversion-bearing actions: registering, booking, buying, visiting.
  c.high_value = {
      // id
      "daftar", "mendaftar", "pendaftaran", "registrasi", "daftar ulang", "formulir pendaftaran",
      "booking", "konsultasi", "janji temu", "kunjungan", "survei kampus", "survey kampus", "uang pangkal",
      "bayar dp", "beli", "pesan paket", "langganan",
      // en
      "register", "registration", "enroll", "enrol", "enrollment", "enrolment", "admission", "admissions",
      "apply", "application", "sign up", "signup", "book", "book an appointment", "consultation",
      "campus visit", "campus tour", "open house", "trial class", "free trial", "demo", "deposit",
      "buy", "purchase", "subscribe", "botox", "laser", "filler",
      // pt
      "matricula", "matricular", "inscricao", "inscrever", "vestibular", "agendar", "agendamento",
      "consulta", "avaliacao", "visita", "contratar", "comprar", "assinar",
      // hi-en
      "admission lena", "form bharna",
  };
  // Interest and research: prices, schedules, brochures, scholarships.
  c.medium_value = {
      "biaya", "harga", "tarif", "berapa", "cicilan", "beasiswa", "jadwal", "brosur", "kurikulum", "promo",
      "diskon", "kuota", "info", "informasi",
      "price", "pricing", "prices", "cost", "fee", "fees", "how much", "tuition", "scholarship", "schedule",
      "timing", "timings", "brochure", "syllabus", "curriculum", "discount", "availability", "available slot",
      "appointment", "details",
      "preco", "valor", "mensalidade", "quanto custa", "quanto e", "bolsa", "horario", "horarios", "desconto",
      "parcelamento", "vagas", "grade curricular",
      "kitna", "kitni", "kitne",
  };
  c.positive = {
      "tertarik", "berminat", "minat", "mantap", "keren", "bagus", "senang", "suka", "cocok", "setuju",
      "pengen banget", "semangat", "luar biasa",
      "interested", "great", "awesome", "amazing", "excellent", "perfect", "love", "excited", "wonderful",
      "sounds good", "looking forward", "keen",
      "interessado", "interessada", "interesse", "otimo", "perfeito", "adorei", "gostei", "maravilha", "legal",
      
      "accha", "achha", "badhiya", "bahut accha",
  };
  c.negative = {
      "mahal", "kemahalan", "kecewa", "komplain", "keluhan", "ribet", "susah", "lambat", "buruk", "jelek",
      "batal", "penipuan", "tipu", "not_tertarik", "not_minat", "not_berminat", "not_jadi", "not_daftar",
      "not_butuh", "not_perlu", "not_mau",
      "expensive", "too expensive", "disappointed", "complaint", "bad", "terrible", "awful", "scam", "cancel",
      "not_interested", "not_interest", "not_want", "not_need", "not_afford", "not_register", "no interest",
      "caro", "muito caro", "decepcionado", "reclamacao", "ruim", "pessimo", "cancelar", "golpe",
      "not_interesse", "not_interessado", "not_interessada", "not_quero", "sem interesse",
      "mehenga", "not_chahiye",
  };
  c.urgency = {
      "hari ini", "sekarang", "segera", "secepatnya", "sesegera mungkin", "minggu ini", "besok", "urgent",
      "darurat", "penting", "buru buru",
      "today", "asap", "as soon as possible", "this week", "urgently", "right now", "immediately", "tomorrow",
      "tonight", "deadline",
      "hoje", "urgente", "agora", "o quanto antes", "esta semana", "essa semana", "amanha",
      "jaldi", "abhi", "aaj", "turant",
  };
  c.low_urgency = {
      "mungkin", "nanti", "nanti saja", "nanti aja", "lihat lihat", "liat liat", "belum tahu", "belum tau",
      "belum pasti", "masih bingung", "masih mikir", "tahun depan", "kapan kapan", "not_yakin",
      "maybe", "someday", "thinking about it", "just looking", "just browsing", "not_sure", "later",
      "next year", "not decided",
      "talvez", "algum dia", "pensando", "so olhando", "depois", "ano que vem",
      "shayad", "dekhte hain", "baad mein",
  };
  return c;
}

std::string tier_for(int score, const ScoringConfig& cfg) {
  if (score >= cfg.hot_at) return "hot";
  if (score >= cfg.warm_at) return "warm";
  return "cold";
}

SignalMatcher::SignalMatcher(const ScoringConfig& cfg) : cfg_(cfg) {
  auto add_all = [&](std::string_view kind, const std::vector<std::string>& list) {
    for (const auto& p : list) {
      std::string key(kind);
      key += ':';
      key += text::fold(p);
      set_.add(std::move(key), p);
    }
  };
  add_all("high", cfg_.high_value);
  add_all("medium", cfg_.medium_value);
  add_all("positive", cfg_.positive);
  add_all("negative", cfg_.negative);
  add_all("urgency", cfg_.urgency);
  add_all("low_urgency", cfg_.low_urgency);
  set_.compile();
}

void SignalMatcher::scan(std::string_view folded, std::vector<std::string>& keys) const {
  thread_local std::vector<int> hits;
  set_.match(folded, hits);
  for (int i : hits) {
    const std::string& k = set_.key(i);
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  }
}

Score SignalMatcher::score(const std::vector<std::string>& keys) const {
  Score s;
  int value = cfg_.base;
  int high = 0, medium = 0;
  std::vector<std::string_view> pos, neg, urg, low;
  for (const auto& k : keys) {
    const auto colon = k.find(':');
    if (colon == std::string::npos) continue;
    const std::string_view kind(k.data(), colon);
    const std::string_view phrase(k.data() + colon + 1, k.size() - colon - 1);
    if (kind == "high") {
      const int add = std::min(cfg_.per_high, cfg_.max_high - high);
      if (add > 0) {
        high += add;
        s.reasons.push_back("high_value:" + std::string(phrase) + " +" + std::to_string(add));
      }
    } else if (kind == "medium") {
      const int add = std::min(cfg_.per_medium, cfg_.max_medium - medium);
      if (add > 0) {
        medium += add;
        s.reasons.push_back("medium_value:" + std::string(phrase) + " +" + std::to_string(add));
      }
    } else if (kind == "positive") {
      pos.push_back(phrase);
    } else if (kind == "negative") {
      neg.push_back(phrase);
    } else if (kind == "urgency") {
      urg.push_back(phrase);
    } else if (kind == "low_urgency") {
      low.push_back(phrase);
    }
  }
  value += high + medium;
  auto join = [](const std::vector<std::string_view>& v) {
    std::string out;
    for (auto p : v) {
      if (!out.empty()) out += ',';
      out += p;
    }
    return out;
  };
  if (pos.size() > neg.size()) {
    value += cfg_.positive_points;
    s.reasons.push_back("positive_sentiment:" + join(pos) + " +" + std::to_string(cfg_.positive_points));
  } else if (neg.size() > pos.size()) {
    value += cfg_.negative_points;
    s.reasons.push_back("negative_sentiment:" + join(neg) + " " + std::to_string(cfg_.negative_points));
  }
  if (!urg.empty()) {
    value += cfg_.urgency_points;
    s.reasons.push_back("urgency:" + join(urg) + " +" + std::to_string(cfg_.urgency_points));
  }
  if (!low.empty()) {
    value += cfg_.low_urgency_points;
    s.reasons.push_back("low_urgency:" + join(low) + " " + std::to_string(cfg_.low_urgency_points));
  }
  s.value = std::clamp(value, 0, 100);
  s.tier = tier_for(s.value, cfg_);
  return s;
}

}  // namespace leadpipe::extract
