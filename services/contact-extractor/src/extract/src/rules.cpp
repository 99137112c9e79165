#include "rules.hpp"

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <unordered_map>

#include "lexicon.hpp"

namespace leadpipe::extract {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;
using re2::StringPiece;

namespace {

RE2::Options opts() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(16 << 20);
  return o;
}

// ---------------------------------------------------------------------------
// Name triggers. Each alternative is one capture group; the group index picks
// the trigger class below. Order matters where alternatives start at the same
// place (RE2 is leftmost-first): "eu sou o" before "eu sou".
constexpr const char* kNameTriggers =
    // 1 id strong: nama saya / namaku / nama lengkap saya adalah
    "(\\b(?:nama|nm|nma)\\s*(?:lengkap\\s*)?(?:saya|aku|ku|sy|sya|saia|gue|gw|q)\\b(?:\\s*(?:adalah|yaitu|ialah|ya)\\b)?)"
    // 2 form label at a line start: "Nama: X", "Full name - X", "Nome completo: X"
    "|((?:^|[\\n;|])[ \\t*_-]*(?:nama|name|full\\s+name|your\\s+name|nome|naam)(?:\\s+(?:lengkap|completo))?[ \\t*_]*[:=])"
    // 3 en strong
    "|(\\bmy\\s+(?:full\\s+|first\\s+|good\\s+|real\\s+)?name(?:\\s+is|'s|\\s*:)|\\bname's\\b)"
    // 4 pt/es strong
    "|(\\b(?:o\\s+)?meu\\s+nome\\s+(?:completo\\s+)?(?:e|eh)\\b(?:\\s*:)?|\\bmeu\\s+nome\\s*:|\\b(?:eu\\s+)?me\\s+chamo\\b|"
    "\\bmi\\s+nombre\\s+es\\b|\\bme\\s+llamo\\b)"
    // 5 Hinglish strong: mera naam X (hai)
    "|(\\bmera\\s+(?:naam|name)\\b(?:\\s+(?:hai|he|h)\\b)?)"
    // 6 Indian English: (Hello,) myself X
    "|(\\bmy\\s*self\\b)"
    // 7 this is X (clause start)
    "|(\\bthis\\s+is\\b)"
    // 8 id: (Halo,) ini X (clause start)
    "|(\\bini\\b)"
    // 9 pt: aqui é (o|a) X / (aqui) quem fala é (o|a) X
    "|(\\b(?:aqui|quem\\s+fala)\\s+(?:e|eh)\\b(?:\\s+(?:o|a)\\b)?)"
    // 10 pt: (eu) sou o/a X, sou eu, a X
    "|(\\b(?:eu\\s+)?sou(?:\\s+eu)?(?:\\s+de\\s+novo)?[\\s,]+(?:o|a)\\b)"
    // 11 id: dengan X (answering the phone; clause start)
    "|(\\b(?:dengan|dgn)\\b)"
    // 12 id weak: saya/aku X (clause start)
    "|(\\b(?:saya|aku|sy|sya|saia|gue|gw|gua|aq|ak|abdi|kulo|kula)\\b)"
    // 13 en weak: I'm / I am X (clause start)
    "|(\\b(?:i'?m|i\\s+am|i\\s+m)\\b)"
    // 14 pt weak: (eu) sou X (clause start)
    "|(\\b(?:eu\\s+)?sou\\b)"
    // 15 it's X (clause start; mostly a slot reply)
    "|(\\bit'?s\\b)"
    // 16 nicknames
    "|(\\b(?:(?:bisa\\s+|boleh\\s+)?(?:di)?panggil(?:\\s+(?:aja|saja|saya|aku|sy|ku))*|(?:you\\s+can\\s+)?call\\s+me|"
    "(?:pode\\s+)?me\\s+chamar?\\s+de|me\\s+chamam\\s+de)\\b)"
    // 17 name before the trigger: X here / X di sini / X speaking / X this side / X bol rahi hoon
    "|(\\b(?:here|disini|di\\s+sini|speaking|falando|this\\s+side|bol\\s+rah[aie]|baat\\s+kar\\s+rah[aie])\\b)"
    // 18 pt answers: "É a Juliana", "Com o Pedro", "Fala a Carla" (clause start)
    "|(\\b(?:e|eh|com|fala)\\s+(?:o|a)\\b)"
    // 19 a label without a colon mid-message: "…, nama Wahyu" (clause start; honorifics not skipped)
    "|(\\b(?:nama|name|nome|naam)(?:\\s+(?:lengkap|panggilan|completo))?(?:\\s+(?:is|adalah|e|eh))?\\b)"
    // 20 id: booking "atas nama X" (not a bank account's or a child's)
    "|(\\batas\\s+nama\\b|\\ba\\s?[./]\\s?n\\b\\.?)"
    // 21 Hindi: main/mai X hoon
    "|(\\b(?:main|mai)\\b)"
    // 22 "I am Sanjana's father, Rajesh Kulkarni": a relation, then the writer's name
    "|(\\b(?:father|mother|dad|mum|mom|parent|guardian|husband|wife|pai|mae|ayahnya|ibunya|bapaknya|mamanya|"
    "papanya|walinya)\\s*,)"
    // 23 "data saya: …", "biodata: …", "pode anotar: …", "please note: …"
    "|(\\b(?:data\\s+(?:saya|diri)|biodata|(?:pode\\s+)?anot(?:ar|a|e)|catat(?:kan)?|please\\s+note)\\s*:)"
    // 24 "Hi team, Sourav from Kolkata, …": a name right after a greeting, then "from <Place>"
    "|(\\b(?:from|dari)\\b)";

struct TriggerClass {
  double confidence;
  int mode;  // see Mode
};

enum Mode : int {
  kStrong = 0,       // anywhere
  kClause = 1,       // only at a clause start
  kWeak = 2,         // clause start; a lower-case word in a cased message is doubtful
  kBackward = 3,     // name precedes the trigger
  kItIs = 4,         // clause start; weak unless a name was asked
  kLabel = 5,        // clause start; a form of address after it is not skipped ("nama ibu …")
  kAtasNama = 6,     // not after a bank/transfer/child word in the same sentence
  kMain = 7,         // clause start; the name must be followed by hoon/hu/hun/bol
  kRelation = 8,     // only after "I am …'s father," / "saya ibunya …," in the same sentence
};

constexpr std::array<TriggerClass, 25> kClasses = {{
    {0, 0},
    {0.95, kStrong},  // 1
    {0.95, kStrong},  // 2
    {0.95, kStrong},  // 3
    {0.95, kStrong},  // 4
    {0.95, kStrong},  // 5
    {0.90, kClause},  // 6 myself
    {0.85, kClause},  // 7 this is
    {0.80, kWeak},    // 8 ini
    {0.85, kClause},  // 9 aqui é
    {0.85, kClause},  // 10 sou o
    {0.80, kWeak},    // 11 dengan
    {0.80, kWeak},    // 12 saya
    {0.80, kWeak},    // 13 I'm
    {0.75, kWeak},    // 14 sou
    {0.65, kItIs},    // 15 it's
    {0.70, kStrong},  // 16 nickname
    {0.85, kBackward},  // 17
    {0.65, kItIs},      // 18
    {0.75, kLabel},     // 19
    {0.75, kAtasNama},  // 20
    {0.75, kMain},      // 21
    {0.75, kRelation},  // 22
    {0.85, kStrong},    // 23
    {0.70, kBackward},  // 24
}};

// Words that may stand between a clause boundary and a trigger ("Halo kak,
// saya …", "ok, I'm …", "ya ini …").
// Indonesian verbs with the -kan suffix ("diskusikan", "tanyakan",
// "daftarkan", "kabarkan"): never a name ("saya diskusikan dulu").
bool is_id_verb(std::string_view w) {
  return w.size() >= 7 && w.substr(w.size() - 3) == "kan";
}

// Balinese names open with a gender particle and a birth-order name: "Ni Luh
// Putu Ariani", "I Wayan Sudarma", "I Gusti Ngurah Rai". The particle ("ni",
// "i") is otherwise a stopword.
bool balinese_particle(std::string_view f, std::string_view w, std::size_t e) {
  if (w != "ni" && w != "i") return false;
  while (e < f.size() && f[e] == ' ') ++e;
  std::size_t k = e;
  while (k < f.size() && f[k] >= 'a' && f[k] <= 'z') ++k;
  static constexpr std::array<std::string_view, 11> kNext = {"luh",   "putu",  "made",  "kadek", "nyoman", "komang",
                                                             "ketut", "wayan", "gede",  "gusti", "nengah"};
  const std::string_view next = f.substr(e, k - e);
  return std::find(kNext.begin(), kNext.end(), next) != kNext.end();
}

// "I'm Indonesian, living in Perth": nationalities are not names.
bool is_demonym(std::string_view w) {
  static constexpr std::array<std::string_view, 36> k = {
      "indonesian", "malaysian", "singaporean", "filipino", "filipina", "thai", "vietnamese", "chinese", "japanese",
      "korean", "indian", "pakistani", "bangladeshi", "nepali", "lankan", "australian", "american", "canadian",
      "british", "english", "irish", "scottish", "german", "french", "dutch", "italian", "spanish", "portuguese",
      "brazilian", "mexican", "arab", "arabic", "turkish", "nigerian", "kenyan", "foreigner"};
  return std::find(k.begin(), k.end(), w) != k.end();
}

// "(the old one 0856 …)", "nomor lama saya 0812 …", "meu número antigo …":
// the words right before a number say it is no longer the writer's.
bool old_number_before(std::string_view near) {
  static const RE2 old(
      "(?:\\b(?:old|previous|former|lama|antigo|anterior)\\s+(?:one|number|no|nomor|nomer|numero|hp|wa|phone|mobile)?"
      "|\\b(?:nomor|nomer|no|number|numero|hp|wa)\\s+(?:lama|antigo|anterior)(?:\\s+(?:saya|sy|aku|ku|meu))?)"
      "\\s*(?:is|was|adalah|era|e|:|=)?\\s*\\(?\\s*$",
      opts());
  return RE2::PartialMatch(StringPiece(near.data(), near.size()), old);
}

bool is_filler(std::string_view w) {
  static constexpr std::array<std::string_view, 43> k = {
      "ya", "iya", "oh", "eh", "ah", "nah", "jadi", "btw", "yes", "yeah", "sim", "well", "so", "um", "hmm",
      "also", "anyway", "and", "dan", "e", "ini", "sorry", "maaf", "ji", "ok", "okay", "oke", "hii", "hiii", "dear",
      "aqui", "kenalin", "perkenalkan", "sure", "claro", "certo", "siap", "baik", "boleh", "tentu", "okey", "sip",
      "okee"};
  return std::find(k.begin(), k.end(), w) != k.end() || lexicon::is_greeting(w) || lexicon::is_honorific(w);
}

bool is_word_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return text::is_ascii_alpha(c) || u >= 0x80 || c == '\'';
}

// Clause delimiters for names.
bool is_clause_punct(char c) {
  return c == ',' || c == '.' || c == '!' || c == '?' || c == ';' || c == ':' || c == '\n' || c == '\r' ||
         c == '(' || c == ')' || c == '"' || c == '|' || c == '/' || c == '#';
}

// Short words that are stopwords in one language and given/family names in
// another; taken as part of a name only when capitalised right after a
// capitalised name word.
bool is_short_name_word(std::string_view w) {
  static constexpr std::array<std::string_view, 24> k = {"an", "son", "long", "young", "may", "will", "hu", "han",
                                                         "mai", "lai", "ho", "ha", "ki", "ko", "do", "ma", "le",
                                                         "la", "hoang", "dan", "ali", "filho", "neto", "junior"};
  return std::find(k.begin(), k.end(), w) != k.end();
}

// TLDs accepted for addresses spelled out in words ("budi at gmail dot com"):
// any two-letter country code or a common generic one.
bool plausible_tld(std::string_view t) {
  if (t.size() == 2) return true;
  static constexpr std::array<std::string_view, 24> k = {"com", "net", "org", "edu", "gov", "info", "biz", "mil",
                                                         "int", "app", "dev", "online", "site", "xyz", "tech",
                                                         "store", "asia", "pro", "mail", "live", "cloud", "school",
                                                         "academy", "web"};
  return std::find(k.begin(), k.end(), t) != k.end();
}

// "hahaha", "wkwkwk", "hehe": laughter, never a name.
bool is_laughter(std::string_view w) {
  if (w.size() < 4) return false;
  for (std::size_t k = 0; k + 1 < w.size(); k += 2) {
    const std::string_view pair = w.substr(k, 2);
    if (pair != "ha" && pair != "he" && pair != "hi" && pair != "wk" && pair != "kw" && pair != "ah" && pair != "eh")
      return false;
  }
  return true;
}

// Is f[b, e) the only word of the message (ignoring punctuation, emoji and
// trailing politeness)?
bool only_word_of_reply(std::string_view f, std::size_t b, std::size_t e) {
  for (std::size_t k = 0; k < b; ++k)
    if (text::is_ascii_alpha(f[k]) || text::is_digit(f[k])) return false;
  for (std::size_t k = e; k < f.size(); ++k)
    if (text::is_ascii_alpha(f[k]) || text::is_digit(f[k])) return false;
  return true;
}

std::string_view strip_nya(std::string_view w) {
  if (w.size() > 5 && w.substr(w.size() - 3) == "nya") return w.substr(0, w.size() - 3);
  return {};
}

}  // namespace

// A word of the folded text with its original spelling.
struct Rules::Word {
  std::size_t b = 0, e = 0;  // folded offsets
  std::string_view fw;       // folded
  bool cap = false;          // original starts with an upper-case letter
  bool initial = false;      // "M." style initial
};

namespace {

// Reads the word starting at f[i] (a letter). Returns its end; sets `glued`
// when a digit or '@' sticks to it ("nowa0812", "rina@").
std::size_t read_word(std::string_view f, std::size_t i, bool& glued) {
  std::size_t j = i;
  while (j < f.size()) {
    char32_t cp;
    const std::size_t len = text::decode(f, j, cp);
    if (text::is_letter(cp)) {
      j += len;
      continue;
    }
    if ((f[j] == '\'' || f[j] == '-') && j + 1 < f.size()) {
      char32_t next;
      text::decode(f, j + 1, next);
      if (text::is_letter(next)) {
        j += 1;
        continue;
      }
    }
    break;
  }
  glued = j < f.size() && (text::is_digit(f[j]) || f[j] == '@' || f[j] == '_');
  return j;
}

bool starts_upper(std::string_view o, const text::Folded& f, std::size_t fb) {
  char32_t cp;
  text::decode(o, f.map[fb], cp);
  return text::is_upper(cp);
}

// Is the message written with meaningful capitalisation (some Title-case
// words and some lower-case words)? In all-lower or ALL-CAPS chat the case of
// a word says nothing about it being a name. Words at a sentence start do not
// count: phone keyboards capitalise those by themselves ("Saya budi …").
bool is_cased(const text::Folded& f, std::string_view o) {
  int title = 0, lower = 0;
  std::size_t i = 0;
  bool sentence_start = true;
  while (i < f.text.size()) {
    if (!is_word_byte(f.text[i]) || f.text[i] == '\'') {
      const char c = f.text[i];
      if (c == '.' || c == '!' || c == '?' || c == '\n') sentence_start = true;
      ++i;
      continue;
    }
    bool glued;
    const std::size_t j = read_word(f.text, i, glued);
    if (j == i) {
      ++i;
      continue;
    }
    char32_t c0, c1 = 0;
    std::size_t ob = f.map[i];
    const std::size_t l0 = text::decode(o, ob, c0);
    if (j - i > 1 && ob + l0 < o.size()) text::decode(o, ob + l0, c1);
    if (text::is_upper(c0) && text::is_lower(c1)) {
      if (!sentence_start) ++title;
    } else if (text::is_lower(c0)) {
      ++lower;
    }
    sentence_start = false;
    i = j;
  }
  return title > 0 && lower > 0;
}

// The token starting at f[b] continues past the word ending at f[e] with
// '.'/'_': an email or handle ("rina.w@x.com", "budi_s") rather than a word
// followed by a sentence that lacks its space ("Bagas.No hp").
bool looks_like_address(const text::Folded& fo, std::string_view o, std::size_t b, std::size_t e) {
  const std::string_view f = fo.text;
  std::size_t k = b;
  while (k < f.size() && (text::is_ascii_alpha(f[k]) || text::is_digit(f[k]) || f[k] == '.' || f[k] == '_' ||
                          f[k] == '-' || f[k] == '@'))
    ++k;
  const std::string_view token = f.substr(b, k - b);
  if (token.find('@') != std::string_view::npos || f[e] == '_') return true;
  // "Bagas.No": a capital after the dot starts a sentence.
  return !starts_upper(o, fo, e + 1);
}

std::string_view first_word_of(std::string_view s) { return s.substr(0, s.find(' ')); }

// Family roles: "Saya Bunda Aisyah" is Aisyah's mother, not a name.
bool is_relation_word(std::string_view w) {
  static constexpr std::array<std::string_view, 30> k = {
      "bunda", "mama", "mamah", "mami", "papa", "papah", "papi", "ayah", "umi", "abi", "mom", "mum", "mommy",
      "dad", "daddy", "mother", "father", "mae", "pai", "parent", "wali", "ortu", "anak", "adik", "kakak",
      "suami", "istri", "wife", "husband", "guardian"};
  return std::find(k.begin(), k.end(), w) != k.end();
}

// Is the word after f[e] a capitalised non-stopword ("Will Smith")?
bool next_word_is_capitalised_name(const text::Folded& fo, std::string_view o, std::size_t e) {
  const std::string_view f = fo.text;
  std::size_t k = e;
  if (k >= f.size() || f[k] != ' ') return false;
  while (k < f.size() && f[k] == ' ') ++k;
  if (k >= f.size() || !text::is_ascii_alpha(f[k])) return false;
  bool glued;
  const std::size_t ke = read_word(f, k, glued);
  const std::string_view w = f.substr(k, ke - k);
  return !glued && starts_upper(o, fo, k) && !lexicon::is_stopword(w) && !lexicon::is_honorific(w) &&
         !lexicon::is_org_word(w) && !lexicon::is_place(w);
}

std::string original_of(const text::Folded& f, std::string_view o, std::size_t b, std::size_t e) {
  const std::size_t ob = f.map[b];
  const std::size_t oe = f.map[e];
  return std::string(o.substr(ob, oe - ob));
}

}  // namespace

Rules::Rules(const TenantConfig& cfg)
    : cfg_(cfg),
      name_triggers_(kNameTriggers, opts()),
      greeting_intro_(
          "^[\\s\\-*]*(?:hi+|hello|hey|hiya|halo+|hallo|hai+|helo|oi|ola|hola|namaste|namaskar|good\\s+(?:morning|afternoon|evening)|"
          "selamat\\s+(?:pagi|siang|sore|malam)|bom\\s+dia|boa\\s+(?:tarde|noite)|assalamu'?alaikum)\\b[\\s,!.]*",
          opts()),
      sign_off_(
          "(?:(?:best|kind|warm|warmest)\\s+(?:regards|wishes)|many\\s+thanks|thanks\\s+(?:a\\s+lot|so\\s+much)|"
          "regards|best|cheers|thanks|thank\\s+you|terima\\s+kasih|makasih|salam|hormat\\s+saya|obrigad[oa]|"
          "atenciosamente|abracos|att|dhanyavad|shukriya)\\s*[,\\n\\-]+\\s*",
          opts()),
      phone_candidate_("\\+?\\(?\\+?\\d[\\d \\t().\\-]*\\d", opts()),
      phone_cue_(
          "(?:^|[^a-z0-9_])(?:wa|whatsapp|whats|wasap|watsap|hp|handphone|hape|telp|telpon|telepon|tlp|tel|phone|mobile|"
          "cell|cellphone|contact|kontak|nomor|nomer|no|nmr|number|num|numero|celular|cel|zap|fone|telefone|call|"
          "hubungi|reach|text|sms|ph|mob|wa\\.me)(?:[^a-z0-9_]|$)",
          opts()),
      phone_cue_suffix_(
          "(?:wa|whatsapp|hp|telp|tlp|tel|phone|mobile|contact|kontak|nomor|nomer|no|nmr|number|numero|cel|celular|"
          "zap|fone|ph|mob)$",
          opts()),
      neg_cue_(
          "(?:^|[^a-z0-9_])(?:otp|kode|code|codigo|verifikasi|verification|verify|pin|nik|ktp|kk|npwp|cpf|rg|cnpj|"
          "aadhaar|aadhar|pan|passport|paspor|order|pesanan|invoice|inv|fatura|faktur|nota|resi|awb|tracking|"
          "rastreio|pedido|protocolo|akun|account|acct|acc|a/c|rekening|rek|norek|va|virtual|transaksi|"
          "transaction|trx|ref|reference|referensi|tiket|ticket|nim|nis|nisn|nrp|npm|matricula|registration|"
          "roll|enrol?ment|enroll?ment|inscricao|"
          "pendaftaran|registrasi|kartu|card|cartao|serial|imei|kupon|voucher|bpjs|polis|policy|klaim|claim|"
          "pelanggan|customer|member|billing|tagihan|pembayaran|payment|pagamento|boleto|pix|bca|bri|bni|"
          "mandiri|conta|agencia|sim|antrian|queue|id|no\\.?\\s*id|booking\\s+(?:id|code|no))(?:[^a-z0-9_]|$)",
          opts()),
      price_before_("(?:rp|idr|usd|us\\$|r\\$|\\$|rs|inr|brl|eur|€|£|₹|harga|biaya|price|cost|fee|preco|valor|total)"
                    "[\\s.:]*$",
                    opts()),
      price_after_("^\\s*(?:(?:rb|ribu|rebu|jt|juta|k|rupiah|rupees|reais|ribuan|dollars?|usd|idr)\\b|,-|\\.-|"
                   "/\\s*(?:bln|bulan|mes|month|tahun|thn|semester|sem)|per\\s+(?:bulan|month|mes|semester|tahun|year)|%|"
                   ",00|\\.00)",
                   opts()),
      other_party_("\\b(?:admin|cs|customer\\s+service|official|resmi|kantor|kampus|sekolah|klinik|office|school|"
                   "clinic|secretaria|escola|atendimento)\\b",
                   opts()),
      thousands_("^\\d{1,3}(?:[.,]\\d{3})+(?:[.,]\\d{1,2})?$", opts()),
      date_like_("^\\d{1,4}[.\\-]\\d{1,2}[.\\-]\\d{1,4}$", opts()),
      time_like_("^\\d{1,2}[.:]\\d{2}(?:\\s*-\\s*\\d{1,2}[.:]\\d{2})?$", opts()),
      fragment_start_("^[\\s\\-.]*(\\d[\\d \\t.\\-]*\\d)\\s*[.!]?\\s*(?:(?:kak|kk|ya|min|sir|pak|bu|ji)\\s*[.!]?\\s*)?$",
                      opts()),
      trailing_intro_("(?:\\b(?:nama|nm)\\s*(?:lengkap\\s*)?(?:saya|aku|ku|sy)(?:\\s+(?:adalah|yaitu))?|\\bmy\\s+(?:full\\s+)?name\\s+is|"
                      "\\bmy\\s+name's|\\bmeu\\s+nome\\s+(?:completo\\s+)?(?:e|eh)|\\bme\\s+chamo|\\bmera\\s+naam)"
                      "[\\s:\\-]*$",
                      opts()),
      email_probe_("@|\\b(?:at|arroba)\\b", opts()),
      email_bracket_at_("\\s*[\\[\\(\\{<]\\s*(?:at|arroba|@)\\s*[\\]\\)\\}>]\\s*", opts()),
      email_bracket_dot_("\\s*[\\[\\(\\{<]\\s*(?:dot|titik|ponto|punto|point)\\s*[\\]\\)\\}>]\\s*", opts()),
      email_spaced_at_("[ \\t]*@[ \\t]*", opts()),
      email_tail_("([a-z0-9][a-z0-9._%+\\-]*)[ \\t]*@[ \\t]*$", opts()),
      email_domain_only_("^[ \\t]*@?[ \\t]*([a-z0-9][a-z0-9\\-]*(?:\\.[a-z0-9\\-]+)+)[ \\t]*[.!]?[ \\t]*$", opts()),
      email_spaced_local_("[a-z0-9_]+(?:[ \\t]+\\.[ \\t]+[a-z0-9_]+)+[ \\t]*@", opts()),
      email_underscore_("([a-z0-9])\\s+(?:underscore|garis\\s+bawah|sublinhado)\\s+([a-z0-9])", opts()),
      email_spaced_dot_("(@[a-z0-9][a-z0-9.\\-]*[a-z0-9])[ \\t]+\\.[ \\t]*([a-z0-9])", opts()),
      email_word_at_("([a-z0-9][a-z0-9._%+\\-]*)\\s+(?:at|arroba)\\s+([a-z0-9][a-z0-9\\-]*)(?:\\.|\\s+(?:dot|titik|ponto)\\s+)"
                     "([a-z]{2,24})\\b",
                     opts()),
      email_local_dot_("\\b([a-z0-9_]+)\\s+(?:dot|titik|ponto)\\s+([a-z0-9_.]+)\\s+(?:at|arroba)\\s+", opts()),
      email_chain_at_("^\\s*(?:\\.|\\s(?:dot|titik|ponto)\\s)?\\s*[a-z]*\\s+(?:at|arroba)\\s", opts()),
      email_word_dot_("@([a-z0-9][a-z0-9.\\-]*)\\s+(?:dot|titik|ponto)\\s+([a-z]{2,24})\\b", opts()),
      email_("([a-z0-9](?:[a-z0-9._%+\\-]*[a-z0-9_])?)@([a-z0-9](?:[a-z0-9\\-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9\\-]*[a-z0-9])?)*)",
             opts()),
      correction_(
          "\\b(?:ralat|salah|koreksi|keliru|yang\\s+(?:benar|betul|bener)|yg\\s+(?:benar|betul|bener)|maksudnya|"
          "maksud\\s+(?:saya|aku|sy)|wrong|correction|i\\s+mean|i\\s+meant|typo|should\\s+be|the\\s+correct|"
          "correct\\s+(?:one|number|email|name)|desculp[ae]|errei|errado|o\\s+certo|o\\s+correto|a\\s+certa|"
          "corrigindo|correcao|na\\s+verdade|quis\\s+dizer|galat|galti|sahi\\s+(?:number|wala)|oh\\s+wait|oops|ops|opa)\\b",
          opts()),
      ask_signal_(
          "\\?|:\\s*(?:\\n|$)|\\b(?:boleh|minta|mohon|tolong|silakan|silahkan|sebutkan|tuliskan|ketik|isi|kirim(?:kan)?|"
          "share|send|tell|provide|enter|type|please|pls|kindly|may\\s+i|can\\s+i|could\\s+i|could\\s+you|"
          "can\\s+you|let\\s+me\\s+know|what'?s|informe|informar|me\\s+(?:passa|manda|envia|diz|fala)|pode|"
          "poderia|diga|qual|bataiye|batayein|batao|bataye|dijiye|share\\s+karein)\\b|"
          // a request that opens with the field: "Nama lengkap sesuai ijazah ya kak", "Email nya ya kak"
          "^\\W*(?:nama|e-?mail|alamat\\s+e-?mail|(?:no|nomor|nomer)\\.?\\s*(?:hp|wa|whatsapp|telp|telepon))\\b[^\\n?]{0,40}"
          "\\bya+\\b",
          opts()),
      ask_name_(
          "\\b(?:nama\\s*(?:lengkap\\s+|panggilan\\s+)?(?:kakak|kak|ka|anda|kamu|mu|nya|bapak|ibu|bpk|sdr|saudara|adik|"
          "adek|dek|mas|mbak)\\b|siapa\\s+nama|nama\\s+siapa|atas\\s+nama|dengan\\s+(?:(?:kak\\w*|bapak|ibu|mas|mbak|"
          "pak|bu)\\s+)?siapa|kenalan|your\\s+(?:full\\s+|first\\s+|good\\s+)?name|name\\s+please|"
          "who\\s+(?:am\\s+i|i'?m|i\\s+am)\\s+(?:chatting|speaking|talking)|who\\s+is\\s+this|who\\s+are\\s+you|"
          "(?:what|how)\\s+(?:should|can|may|do)\\s+(?:i|we)\\s+(?:call|address)\\s+you|"
          "(?:seu|teu)\\s+nome|como\\s+(?:(?:voce|vc|o\\s+senhor|a\\s+senhora)\\s+)?se\\s+chama|"
          "com\\s+quem\\s+(?:eu\\s+)?(?:falo|estou\\s+falando)|quem\\s+(?:fala|e\\s+voce)|"
          "(?:aapka|apka|aap\\s+ka)\\s+(?:shubh\\s+)?(?:naam|name))|"
          "(?:^|\\n)[ \\t*_-]*(?:nama(?:\\s+lengkap)?|(?:full\\s+)?name|nome(?:\\s+completo)?)[ \\t*_]*:",
          opts()),
      self_reference_("\\b(?:i'?m|i\\s+am|this\\s+is|myself|saya|aku|sy|sou|eu\\s+sou)\\b", opts()),
      hindi_copula_("\\b(?:hoon|hu|hun|hoo|bol\\s+rah[aie]|baat\\s+kar)\\b", opts()),
      atas_nama_other_("\\b(?:rek|rekening|norek|transfer|tf|bank|bca|bri|bni|mandiri|bsi|account|santri|siswa|murid|"
                       "anak|adik|putra|cucu|keponakan|yayasan|sekolah|pt|cv)\\b",
                       opts()),
      ask_name_general_("\\b(?:nama|name|nome|naam)\\b", opts()),
      ask_name_other_(
          "\\b(?:nama|nome)\\s+(?:jurusan|prodi|program|sekolah|kampus|produk|paket|kursus|kelas|anak|ibu|ayah|"
          "orang\\s*tua|ortu|wali|perusahaan|toko|usaha|instansi|institusi|universitas|univ|bank|pasien|do\\s+curso|"
          "da\\s+escola|do\\s+filho|da\\s+filha|da\\s+empresa)\\b|"
          "\\b(?:course|program|programme|school|college|company|business|product|child'?s|son'?s|daughter'?s|"
          "father'?s|mother'?s|parent'?s|student'?s|patient'?s|bank|file|user)\\s+name\\b",
          opts()),
      ask_phone_(
          "\\b(?:(?:no|nomor|nomer|nmr)\\.?\\s*(?:wa|whatsapp|hp|handphone|telp|telepon|tlp|hape|ponsel|kontak|"
          "telpon|yang\\s+bisa\\s+dihubungi)|(?:wa|whatsapp|hp)\\s+(?:kakak|kak|anda|kamu)|phone|mobile|"
          "whatsapp\\s+number|contact\\s+(?:number|no|details)|cell|telephone|number|numero|telefone|celular|"
          "whats(?:app)?|zap|contato|bisa\\s+dihubungi|reach\\s+you)\\b",
          opts()),
      ask_email_("\\b(?:e-?mail|surel|alamat\\s+email|email\\s+address|correo|e-mail)\\b", opts()),
      ask_program_("\\b(?:jurusan|prodi|program\\s+studi|program|kursus|kelas|course|programme|major|curso|"
                   "area\\s+de\\s+interesse|tertarik\\s+(?:dengan|di)|interested\\s+in|treatment|perawatan|layanan|service)\\b",
                   opts()),
      opt_out_whole_("^[\\s\\p{P}]*(?:stop|stop\\s+please|please\\s+stop|berhenti|unsubscribe|unsub|unreg|parar|"
                     "pare|sair|cancelar|descadastrar|band\\s+karo)[\\s\\p{P}]*$",
                     opts()),
      signals_(cfg.scoring) {
  for (const RE2* re : {&name_triggers_, &greeting_intro_, &sign_off_, &phone_candidate_, &phone_cue_,
                        &phone_cue_suffix_, &neg_cue_, &price_before_, &price_after_, &other_party_, &thousands_, &date_like_,
                        &time_like_, &fragment_start_, &trailing_intro_, &email_probe_, &email_bracket_at_, &email_bracket_dot_,
                        &email_spaced_at_, &email_tail_, &email_domain_only_, &email_spaced_local_, &email_underscore_, &email_spaced_dot_, &email_local_dot_, &email_word_at_, &email_chain_at_, &email_word_dot_, &email_, &correction_, &ask_signal_,
                        &ask_name_, &self_reference_, &hindi_copula_, &atas_nama_other_, &ask_name_general_, &ask_name_other_, &ask_phone_, &ask_email_, &ask_program_, &opt_out_whole_}) {
    if (!re->ok()) throw std::logic_error("extractor pattern does not compile: " + re->pattern() + ": " + re->error());
  }

  auto* util = PhoneNumberUtil::GetInstance();
  static const bool quiet = [util] {
    util->SetLogger(new i18n::phonenumbers::NullLogger());  // takes ownership; no stderr noise on bad input
    return true;
  }();
  (void)quiet;
  region_ = cfg_.region;
  for (auto& c : region_) c = static_cast<char>((c >= 'a' && c <= 'z') ? c - 32 : c);
  const int cc = util->GetCountryCodeForRegion(region_);
  if (cc == 0) throw std::invalid_argument("unknown phone region '" + cfg_.region + "'");
  country_code_ = std::to_string(cc);
  util->GetNddPrefixForRegion(region_, true, &trunk_prefix_);

  // Intents: phrase lists per intent (folded).
  const std::vector<std::pair<std::string, std::vector<std::string_view>>> intents = {
      {"share_personal_info",
       {"nama saya", "namaku", "nama aku", "my name", "meu nome", "me chamo", "mera naam", "myself", "nomor saya",
        "nomor aku", "no hp saya", "no wa saya", "wa saya", "wa aku", "hp saya", "hp aku", "email saya", "email aku",
        "kontak saya", "my number", "my email", "my phone", "my whatsapp", "my mobile", "my contact", "reach me",
        "meu numero", "meu email", "meu celular", "meu whatsapp", "meu zap", "meu contato", "mera number",
        "mera email", "ini nomor", "ini email", "this is my"}},
      {"register_intent",
       {"daftar", "mendaftar", "pendaftaran", "registrasi", "register", "registration", "enroll", "enrol",
        "enrollment", "sign up", "signup", "apply", "application", "admission", "admissions", "gabung", "ikut kelas",
        "join the", "matricula", "matricular", "inscricao", "inscrever", "me inscrever", "vestibular",
        "admission lena", "form bharna", "form bhar"}},
      {"visit_intent",
       {"kunjungan", "berkunjung", "datang ke kampus", "datang ke klinik", "datang ke sekolah", "main ke kampus",
        "survei kampus", "survey kampus", "lihat kampus", "lihat lokasi", "datang langsung", "visit", "campus tour",
        "open house", "come to campus", "come by", "drop by", "come visit", "visitar", "visita", "conhecer o campus",
        "conhecer a escola", "ir ao campus", "ir na clinica", "ir pessoalmente", "campus dekhna"}},
      {"pricing_inquiry",
       {"biaya", "harga", "berapa", "tarif", "cicilan", "uang pangkal", "spp", "ukt", "price", "pricing", "prices",
        "cost", "fee", "fees", "how much", "tuition", "preco", "valor", "mensalidade", "quanto custa", "quanto e",
        "quanto fica", "kitna", "kitni", "kitne", "charges"}},
      {"opt_out",
       {"unsubscribe", "berhenti kirim", "berhenti mengirim", "berhenti hubungi", "jangan hubungi", "jangan kirim",
        "jangan chat", "jangan telpon", "stop messaging", "stop sending", "stop texting", "stop contacting",
        "stop calling", "stop spamming", "do not contact", "don't contact", "dont contact", "do not message",
        "remove me", "opt out", "parar de enviar", "pare de enviar", "pare de mandar", "nao quero mais receber",
        "nao me mande", "nao me envie", "descadastrar", "message mat karo", "call mat karo", "band karo"}},
      {"scholarship_inquiry", {"beasiswa", "scholarship", "scholarships", "bolsa", "bolsas", "fee waiver"}},
      {"schedule_inquiry",
       {"jadwal", "jam berapa", "jam buka", "kapan", "schedule", "timing", "timings", "what time", "opening hours",
        "horario", "horarios", "que horas", "quando comeca", "kab se"}},
      {"brochure_request", {"brosur", "brochure", "katalog", "catalog", "catalogue", "prospectus", "folheto", "catalogo"}},
      {"appointment_intent",
       {"booking", "book", "appointment", "janji temu", "jadwalkan", "reservasi", "konsultasi", "agendar",
        "agendamento", "consulta", "marcar", "consultation"}},
      {"callback_request",
       {"telpon saya", "telepon saya", "hubungi saya", "call me back", "call me at", "call me on", "please call",
        "give me a call", "call back", "callback", "me liga", "me ligue", "me ligar", "call karo", "call kijiye",
        "call kar do"}},
      {"use_channel_number",
       {"wa ini", "nomor ini", "no ini", "nomer ini", "this number", "same number", "this whatsapp", "este numero",
        "esse numero", "este whatsapp", "isi number", "yahi number"}},
      {"program_inquiry",
       {"jurusan", "prodi", "program studi", "kursus", "course", "courses", "program", "programme", "major",
        "curso", "cursos", "graduacao"}},
  };
  for (const auto& [intent, phrases] : intents)
    for (auto p : phrases) phrases_.add("i" + intent, p);
  // Score keywords in the same set (keys as SignalMatcher stores them).
  const std::pair<const char*, const std::vector<std::string>*> kinds[] = {
      {"high", &cfg_.scoring.high_value}, {"medium", &cfg_.scoring.medium_value},
      {"positive", &cfg_.scoring.positive}, {"negative", &cfg_.scoring.negative},
      {"urgency", &cfg_.scoring.urgency}, {"low_urgency", &cfg_.scoring.low_urgency}};
  for (const auto& [kind, list] : kinds)
    for (const auto& p : *list) phrases_.add(std::string("s") + kind + ":" + text::fold(p), p);
  phrases_.compile();

  // Program vocabulary: one alternation, longest first so "S1 Teknik
  // Elektro" wins over "Teknik" at the same position.
  if (!cfg_.programs.empty()) {
    std::vector<std::size_t> order(cfg_.programs.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
      program_folded_.push_back(text::fold(cfg_.programs[i]));
    }
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return program_folded_[a].size() > program_folded_[b].size(); });
    std::string alt;
    for (std::size_t i : order) {
      if (program_folded_[i].find_first_not_of(" \t") == std::string::npos) continue;
      std::string pat = phrase_pattern(program_folded_[i]);
      // strip the boundary wrappers: the whole alternation gets them once
      pat = pat.substr(std::string("(?:^|[^a-z0-9_])").size());
      pat.resize(pat.size() - std::string("(?:[^a-z0-9_]|$)").size());
      if (!alt.empty()) alt += '|';
      alt += "(" + pat + ")";
      program_of_group_.push_back(i);
      // words of program names are never person names ("Teknik", "Design")
      std::size_t k = 0;
      const auto& pf = program_folded_[i];
      while (k < pf.size()) {
        while (k < pf.size() && !text::is_ascii_alpha(pf[k])) ++k;
        std::size_t j = k;
        while (j < pf.size() && text::is_ascii_alpha(pf[j])) ++j;
        if (j - k >= 3) program_words_.emplace_back(pf.substr(k, j - k));
        k = j;
      }
    }
    if (!alt.empty()) {
      RE2::Options o = opts();
      o.set_max_mem(64 << 20);
      programs_re_ = std::make_unique<RE2>("(?:^|[^a-z0-9_])(?:" + alt + ")(?:[^a-z0-9_]|$)", o);
      if (!programs_re_->ok()) throw std::invalid_argument("program vocabulary does not compile: " + programs_re_->error());
    }
    std::sort(program_words_.begin(), program_words_.end());
    program_words_.erase(std::unique(program_words_.begin(), program_words_.end()), program_words_.end());
  }
}

Rules::~Rules() = default;

bool Rules::is_program_word(std::string_view w) const {
  return std::binary_search(program_words_.begin(), program_words_.end(), w);
}

// ---------------------------------------------------------------------------
// Names

bool Rules::clause_start(std::string_view f, std::size_t pos) const {
  std::size_t i = pos;
  int words = 0;
  while (i > 0) {
    const char c = f[i - 1];
    if (c == ' ' || c == '\t') {
      --i;
      continue;
    }
    if (is_clause_punct(c) || c == '-' || c == '*' || c == '~') return true;
    const auto u = static_cast<unsigned char>(c);
    if (text::is_ascii_alpha(c) || c == '\'' || u >= 0x80) {
      // read the word backwards
      std::size_t j = i;
      while (j > 0) {
        const char d = f[j - 1];
        const auto du = static_cast<unsigned char>(d);
        if (text::is_ascii_alpha(d) || d == '\'' || du >= 0x80) --j;
        else break;
      }
      const std::string_view w = f.substr(j, i - j);
      // A non-ASCII run that is not a letter (emoji) is a boundary.
      char32_t cp;
      text::decode(f, j, cp);
      if (!text::is_letter(cp) && static_cast<unsigned char>(f[j]) >= 0x80) return true;
      if (!is_filler(w)) return false;
      if (++words > 6) return false;
      i = j;
      continue;
    }
    return !text::is_digit(c);  // digits right before: not an introduction
  }
  return true;
}

std::optional<NameHit> Rules::parse_forward(const text::Folded& fo, std::string_view o, std::size_t pos,
                                            double conf, int mode, bool cased) const {
  const std::string_view f = fo.text;
  std::vector<Word> words;
  words.reserve(4);
  std::size_t i = pos;
  bool leading = true;
  std::string_view stop_word;
  bool pending_particle = false;
  Word particle;
  while (i < f.size()) {
    const char c = f[i];
    if (c == ' ' || c == '\t' || c == '*' || c == '_' || c == '"' || c == '~') {
      ++i;
      continue;
    }
    if (leading && (c == ':' || c == '=' || c == '-' || c == ',')) {
      ++i;
      continue;
    }
    char32_t cp;
    text::decode(f, i, cp);
    if (!text::is_letter(cp)) break;
    bool glued;
    const std::size_t e = read_word(f, i, glued);
    Word w{i, e, f.substr(i, e - i), starts_upper(o, fo, i), false};
    // "M. Rizky", "Muh. Fadli": a short abbreviation is part of the name when
    // a name word follows the dot ("Ana. Need info" ends at "Ana").
    if (e - i <= 3 && e + 2 < f.size() && f[e] == '.' && f[e + 1] == ' ') {
      std::size_t k = e + 1;
      while (k < f.size() && f[k] == ' ') ++k;
      char32_t ncp;
      if (k < f.size() && text::is_letter((text::decode(f, k, ncp), ncp))) {
        bool g2;
        const std::size_t ke = read_word(f, k, g2);
        const std::string_view next = f.substr(k, ke - k);
        w.initial = !g2 && !lexicon::is_stopword(next) && !lexicon::is_honorific(next) &&
                    (!cased || starts_upper(o, fo, k)) && !lexicon::is_stopword(w.fw);
      }
    }
    if (glued) {
      stop_word = w.fw;
      break;
    }
    // Possessives ("Mr. Lee's assistant", "Neha's mother") are someone else.
    if (w.fw.ends_with("'s") || w.fw.ends_with("'")) return std::nullopt;
    if (words.empty() && lexicon::is_honorific(w.fw) && mode != kLabel) {
      i = e;
      if (i < f.size() && f[i] == '.') ++i;  // "Sr." "Mrs."
      leading = true;
      continue;
    }
    leading = false;
    if (!words.empty() && lexicon::is_honorific(w.fw)) {
      stop_word = w.fw;
      break;
    }
    if (!words.empty() && lexicon::is_particle(w.fw) && !pending_particle) {
      pending_particle = true;
      particle = w;
      i = e;
      continue;
    }
    // "rina.w@…", "budi_s": the word is the start of an address, not a name
    // ("Bagas.No hp …" is a missing space after a sentence).
    if (e + 1 < f.size() && (f[e] == '.' || f[e] == '_') && (text::is_ascii_alpha(f[e + 1]) || text::is_digit(f[e + 1])) &&
        !w.initial && looks_like_address(fo, o, i, e))
      return std::nullopt;
    const std::string_view stem = strip_nya(w.fw);
    const bool capitalised_short_name =  // "Nguyễn Văn An", "Jae Ho"
        cased && !words.empty() && words.front().cap && w.cap && is_short_name_word(w.fw);
    // A capitalised word that is also a common word ("Hari", "Kasih", "Will",
    // "Uma") right after an explicit introduction, in a message whose capitals
    // mean something, is the name: people do not capitalise "hari" mid-sentence.
    const bool capitalised_first_name =
        cased && words.empty() && w.cap && w.fw.size() >= 3 && !w.initial && !is_relation_word(w.fw) &&
        (mode == kStrong || mode == kLabel || next_word_is_capitalised_name(fo, o, e));
    if (!capitalised_short_name && !capitalised_first_name && !(words.empty() && balinese_particle(f, w.fw, e)) &&
        (lexicon::is_stopword(w.fw) || (!stem.empty() && (lexicon::is_stopword(stem) || lexicon::is_honorific(stem))) ||
         is_program_word(w.fw) || is_id_verb(w.fw) || (words.empty() && is_demonym(w.fw)))) {
      stop_word = w.fw;
      break;
    }
    if (w.fw == "hari") {  // "saya hari ini …" (today), not the name Hari
      std::size_t k = e;
      while (k < f.size() && f[k] == ' ') ++k;
      if (f.substr(k, 3) == "ini" || f.substr(k, 3) == "itu") {
        stop_word = w.fw;
        break;
      }
    }
    if (cased && !words.empty() && words.front().cap && !w.cap && !w.initial) {
      stop_word = w.fw;  // "I'm Priya looking …": the name ends where capitals end
      break;
    }
    if (pending_particle) {
      if (cased && !w.cap) {
        stop_word = particle.fw;
        break;
      }
      words.push_back(particle);
      pending_particle = false;
    }
    words.push_back(w);
    i = e;
    if (w.initial) ++i;  // skip the dot
    const auto particles = static_cast<std::size_t>(std::count_if(
        words.begin(), words.end(), [](const Word& x) { return lexicon::is_particle(x.fw); }));
    if (words.size() - particles >= 4 || words.size() >= 6) break;
    if (i < f.size() && f[i] != ' ' && f[i] != '\t') break;  // punctuation ends the name
  }
  if (words.empty()) return std::nullopt;
  while (!words.empty() && (words.back().initial || lexicon::is_particle(words.back().fw))) words.pop_back();
  if (words.empty()) return std::nullopt;

  // "mera naam X nahi hai", "nama saya bukan X": a denial, not an introduction.
  if (stop_word == "nahi" || stop_word == "nahin" || stop_word == "bukan" || stop_word == "not" || stop_word == "nao")
    return std::nullopt;
  // Organisations and places are not people.
  for (const auto& w : words)
    if (lexicon::is_org_word(w.fw)) return std::nullopt;
  if (!stop_word.empty() && lexicon::is_org_word(stop_word)) return std::nullopt;
  if (lexicon::is_place(words.front().fw)) return std::nullopt;

  const Word& first = words.front();
  if (mode == kWeak || mode == kItIs || mode == kClause) {
    if (cased && !first.cap) {
      // "Saya sedang mencari …": in a capitalised message a lower-case word
      // after a weak trigger is rarely a name.
      conf -= 0.2;
    }
    // English gerunds/participles after "I'm" ("I'm thrilled", "i'm calling"),
    // but not names that end alike ("Ling", "Alfred", "Ahmed", "Mohammed").
    if (!first.cap && ((first.fw.size() > 5 && first.fw.ends_with("ing")) ||
                       (first.fw.size() > 6 && first.fw.ends_with("ed") && !first.fw.ends_with("med"))))
      return std::nullopt;
  }
  // "it's …" outside a name question: a capitalised name in cased text, or a
  // name followed by "from"/"here"/"again" ("its jenny from the open day").
  if (mode == kItIs && conf < 0.7 && (!fo.has_lower || !fo.has_upper || !first.cap) &&
      !(stop_word == "from" || stop_word == "here" || stop_word == "again" || stop_word == "dari" ||
        stop_word == "speaking"))
    return std::nullopt;
  if (conf < 0.5) return std::nullopt;

  NameHit hit;
  hit.confidence = conf;
  for (const auto& w : words) {
    if (!hit.value.empty()) hit.value += ' ';
    const std::string orig = original_of(fo, o, w.b, w.e);
    if (lexicon::is_particle(w.fw) && &w != &words.front()) {
      std::string lower;
      for (std::size_t k = 0; k < orig.size();) {
        char32_t cp;
        k += text::decode(orig, k, cp);
        text::append_utf8(lower, text::to_lower(cp));
      }
      hit.value += lower;
    } else {
      hit.value += text::title_case_word(orig);
      if (w.initial) hit.value += '.';
    }
  }
  if (hit.value.size() > 60) return std::nullopt;
  return hit;
}

std::optional<NameHit> Rules::parse_backward(const text::Folded& fo, std::string_view o, std::size_t pos,
                                             double conf, bool cased) const {
  const std::string_view f = fo.text;
  std::vector<Word> words;
  std::size_t i = pos;
  while (true) {
    while (i > 0 && (f[i - 1] == ' ' || f[i - 1] == '\t')) --i;
    if (i == 0) break;
    const char c = f[i - 1];
    const auto u = static_cast<unsigned char>(c);
    if (!(text::is_ascii_alpha(c) || u >= 0x80)) {
      if (is_clause_punct(c) || c == '-' || c == '*') break;
      return std::nullopt;  // digits or symbols glued before the name
    }
    std::size_t j = i;
    while (j > 0) {
      const char d = f[j - 1];
      const auto du = static_cast<unsigned char>(d);
      if (text::is_ascii_alpha(d) || du >= 0x80 || d == '\'' || d == '-') --j;
      else break;
    }
    char32_t cp;
    text::decode(f, j, cp);
    if (!text::is_letter(cp)) break;  // emoji: boundary
    Word w{j, i, f.substr(j, i - j), starts_upper(o, fo, j), false};
    if (w.fw.ends_with("'s")) return std::nullopt;
    if (lexicon::is_greeting(w.fw) || (lexicon::is_honorific(w.fw) && !words.empty()) ||
        (words.empty() && lexicon::is_honorific(w.fw) && w.fw == "ji")) {
      if (words.empty() && w.fw == "ji") {  // "Sanjay ji here"
        i = j;
        continue;
      }
      break;  // "Hi sir, X here" / "Halo kak X disini"
    }
    if (lexicon::is_honorific(w.fw)) break;
    // "main Rahul bol raha hoon", "saya Budi disini": a subject pronoun opens the clause.
    if (!words.empty() && (w.fw == "main" || w.fw == "mai" || w.fw == "i" || w.fw == "saya" || w.fw == "aku" ||
                           w.fw == "sy" || w.fw == "eu" || w.fw == "dengan" || w.fw == "dgn" || w.fw == "ini"))
      break;
    if (lexicon::is_stopword(w.fw) || is_program_word(w.fw) || is_id_verb(w.fw)) return std::nullopt;
    if (cased && !w.cap) return std::nullopt;
    words.push_back(w);
    if (words.size() > 4) return std::nullopt;
    i = j;
  }
  if (words.empty()) return std::nullopt;
  std::reverse(words.begin(), words.end());
  for (const auto& w : words)
    if (lexicon::is_org_word(w.fw)) return std::nullopt;
  if (lexicon::is_place(words.front().fw)) return std::nullopt;
  NameHit hit;
  hit.confidence = conf;
  for (const auto& w : words) {
    if (!hit.value.empty()) hit.value += ' ';
    hit.value += text::title_case_word(original_of(fo, o, w.b, w.e));
  }
  return hit;
}

std::optional<NameHit> Rules::parse_bare(const text::Folded& fo, std::string_view o) const {
  const std::string_view f = fo.text;
  std::vector<Word> words;
  std::size_t i = 0;
  bool trailing = false;  // after "kak"/"aja"/"ya": only more fillers may follow
  std::size_t end = f.size();
  while (i < f.size()) {
    const char c = f[i];
    if (c == ' ' || c == '\t' || c == '*' || c == '_' || c == '"' || c == '~') {
      ++i;
      continue;
    }
    if (words.empty() && !trailing && (c == ',' || c == '-' || c == ':' || c == '.' || c == '!')) {
      ++i;
      continue;
    }
    if (is_clause_punct(c) || text::is_digit(c) || c == '+') {
      end = i;
      break;
    }
    char32_t cp;
    const std::size_t len = text::decode(f, i, cp);
    if (!text::is_letter(cp)) {
      if (static_cast<unsigned char>(c) >= 0x80) {  // emoji and symbols: skipped
        i += len;
        continue;
      }
      return std::nullopt;  // '@', '#', '&' …: not a bare name
    }
    bool glued;
    const std::size_t e = read_word(f, i, glued);
    if (glued) return std::nullopt;
    Word w{i, e, f.substr(i, e - i), starts_upper(o, fo, i), false};
    static constexpr std::array<std::string_view, 14> kTrail = {"aja", "saja", "ya", "yaa", "kak", "here", "sir",
                                                                "please", "ji", "mam", "madam", "sahab", "hai", "kok"};
    const bool trail_word = std::find(kTrail.begin(), kTrail.end(), w.fw) != kTrail.end() ||
                            (!words.empty() && lexicon::is_honorific(w.fw));
    // "Dan", "May", "An" answering "What's your name?": a capitalised reply
    // of that single word is the name, though the word is also a stopword.
    if (words.empty() && w.cap && is_short_name_word(w.fw) && only_word_of_reply(f, i, e)) {
      words.push_back(w);
      i = e;
      continue;
    }
    // "sama Lina kak" / "dengan Lina" answering "Dengan siapa?": a leading "with" is dropped.
    if (words.empty() && (lexicon::is_honorific(w.fw) || lexicon::is_greeting(w.fw) || is_filler(w.fw) ||
                          w.fw == "sama" || w.fw == "dengan" || w.fw == "dgn")) {
      i = e;
      if (i < f.size() && f[i] == '.') ++i;
      continue;
    }
    if (trail_word && !words.empty()) {
      trailing = true;
      i = e;
      continue;
    }
    if (trailing) return std::nullopt;
    if (lexicon::is_particle(w.fw) && !words.empty()) {
      words.push_back(w);
      i = e;
      continue;
    }
    if (words.empty() && balinese_particle(f, w.fw, e)) {
      words.push_back(w);
      i = e;
      continue;
    }
    if (lexicon::is_stopword(w.fw) || is_program_word(w.fw) || lexicon::is_org_word(w.fw) || is_laughter(w.fw) ||
        is_id_verb(w.fw))
      return std::nullopt;
    if (e - i < 2) return std::nullopt;  // "P" (a ping), "k"
    const std::string_view stem = strip_nya(w.fw);
    if (!stem.empty() && (lexicon::is_stopword(stem) || lexicon::is_honorific(stem))) return std::nullopt;
    words.push_back(w);
    if (words.size() > 4) return std::nullopt;
    i = e;
  }
  if (words.empty()) return std::nullopt;
  if (lexicon::is_particle(words.back().fw)) return std::nullopt;
  // A clause ending in "rina." followed by more of an address is an email or URL.
  if (end < f.size()) {
    const char c = f[end];
    if ((c == '.' || c == '_') && end + 1 < f.size() && (text::is_ascii_alpha(f[end + 1]) || text::is_digit(f[end + 1])))
      return std::nullopt;
    if (c == '?') return std::nullopt;
  }
  if (lexicon::is_place(words.front().fw)) return std::nullopt;
  NameHit hit;
  hit.confidence = 0.75;
  hit.slot = true;
  for (const auto& w : words) {
    if (!hit.value.empty()) hit.value += ' ';
    std::string orig = original_of(fo, o, w.b, w.e);
    hit.value += lexicon::is_particle(w.fw) ? std::string(w.fw) : text::title_case_word(orig);
  }
  return hit;
}

std::optional<NameHit> Rules::find_name(const text::Folded& fo, std::string_view o, bool awaiting_name) const {
  const std::string_view f = fo.text;
  if (f.empty()) return std::nullopt;
  const bool cased = is_cased(fo, o);
  std::optional<NameHit> best;
  auto consider = [&](std::optional<NameHit> h) {
    if (h && (!best || h->confidence > best->confidence)) best = std::move(h);
  };

  StringPiece input(f.data(), f.size());
  std::array<StringPiece, 25> g;
  std::size_t pos = 0;
  while (pos <= f.size() &&
         name_triggers_.Match(input, pos, f.size(), RE2::UNANCHORED, g.data(), static_cast<int>(g.size()))) {
    int cls = 0;
    for (int k = 1; k < static_cast<int>(g.size()); ++k)
      if (g[k].data() != nullptr) {
        cls = k;
        break;
      }
    const std::size_t mb = static_cast<std::size_t>(g[0].data() - f.data());
    const std::size_t me = mb + g[0].size();
    pos = me > mb ? me : mb + 1;
    if (cls == 0) continue;
    const TriggerClass tc = kClasses[static_cast<std::size_t>(cls)];
    std::size_t tb = static_cast<std::size_t>(g[static_cast<std::size_t>(cls)].data() - f.data());
    // the label alternative starts at a newline/';': the trigger itself begins after it
    while (tb < f.size() && (f[tb] == '\n' || f[tb] == ';' || f[tb] == '|')) ++tb;
    if (tc.mode == kBackward) {
      if (cls == 17) {
        consider(parse_backward(fo, o, tb, tc.confidence, cased));
      } else if (cls == 24 && cased) {
        // Only "<greeting/comma> Name from Place": a capitalised place after
        // "from", and the name after a clause boundary, not the text start.
        std::size_t k = me;
        while (k < f.size() && f[k] == ' ') ++k;
        if (k < f.size() && text::is_ascii_alpha(f[k]) && starts_upper(o, fo, k)) {
          if (auto h = parse_backward(fo, o, tb, tc.confidence, cased)) {
            const std::string fv = text::fold(h->value);
            const std::size_t at = f.rfind(fv, tb);
            if (at != std::string_view::npos && at > 0 && !only_word_of_reply(f, at, at + fv.size()) &&
                !lexicon::is_place(first_word_of(fv)))
              consider(std::move(h));
          }
        }
      }
      continue;
    }
    if ((tc.mode == kClause || tc.mode == kWeak || tc.mode == kItIs || tc.mode == kLabel) && !clause_start(f, tb))
      continue;
    if (tc.mode == kMain && !clause_start(f, tb)) continue;
    if (tc.mode == kRelation) {
      std::size_t sb = tb;
      while (sb > 0 && f[sb - 1] != '.' && f[sb - 1] != '!' && f[sb - 1] != '?' && f[sb - 1] != '\n') --sb;
      const std::string_view before = f.substr(sb, tb - sb);
      if (!RE2::PartialMatch(StringPiece(before.data(), before.size()), self_reference_)) continue;
    }
    if (tc.mode == kAtasNama) {
      std::size_t sb = tb;  // sentence start
      while (sb > 0 && f[sb - 1] != '.' && f[sb - 1] != '!' && f[sb - 1] != '?' && f[sb - 1] != '\n') --sb;
      const std::string_view before = f.substr(sb, tb - sb);
      if (RE2::PartialMatch(StringPiece(before.data(), before.size()), atas_nama_other_)) continue;
    }
    double conf = tc.confidence;
    int mode = tc.mode;
    if (mode == kLabel) {  // "…: Nama: Drs. Bambang" is a form label after all
      std::size_t k = me;
      while (k < f.size() && f[k] == ' ') ++k;
      if (k < f.size() && (f[k] == ':' || f[k] == '=')) mode = kStrong;
    }
    if (tc.mode == kItIs && awaiting_name) conf = 0.8;
    if (tc.mode == kWeak && awaiting_name) conf += 0.05;
    if (tc.mode == kMain) {
      // "main Rahul hoon" / "mai Rohit hu": only with the Hindi copula after the name.
      if (auto h = parse_forward(fo, o, me, conf, tc.mode, cased)) {
        // the copula may come later: "mai Sunil Yadav, Bihar se, … pooch raha hu"
        const std::string_view rest = f.substr(me);
        if (RE2::PartialMatch(StringPiece(rest.data(), rest.size()), hindi_copula_)) consider(std::move(h));
      }
      continue;
    }
    consider(parse_forward(fo, o, me, conf, mode, cased));
  }

  // "Hi, Tom Fischer, my number is …": a greeting, then a capitalised full name.
  if (cased) {
    StringPiece m;
    StringPiece in2(f.data(), f.size());
    if (greeting_intro_.Match(in2, 0, f.size(), RE2::ANCHOR_START, &m, 1)) {
      const std::size_t start = static_cast<std::size_t>(m.data() - f.data()) + m.size();
      if (auto h = parse_forward(fo, o, start, 0.6, kStrong, cased)) {
        // Require two or more capitalised words and a clause end right after.
        std::size_t words = 1 + static_cast<std::size_t>(std::count(h->value.begin(), h->value.end(), ' '));
        bool all_cap = true;
        for (std::size_t k = 0; k < h->value.size(); ++k)
          if ((k == 0 || h->value[k - 1] == ' ') && !(h->value[k] >= 'A' && h->value[k] <= 'Z') &&
              static_cast<unsigned char>(h->value[k]) < 0x80)
            all_cap = false;
        // Find where the name ends in the folded text: the first ',' '.' '!' after start.
        std::size_t k = start;
        while (k < f.size() && !is_clause_punct(f[k])) ++k;
        const std::string folded_value = text::fold(h->value);
        std::string_view between = f.substr(start, k - start);
        while (!between.empty() && (between.back() == ' ' || between.back() == '\t')) between.remove_suffix(1);
        const bool ends_clause = k < f.size() && (f[k] == ',' || f[k] == '.' || f[k] == '!') &&
                                 between.ends_with(folded_value);
        if (words >= 2 && all_cap && ends_clause) consider(std::move(h));
      }
    }
  }

  // "… Thanks, Budi Santoso" at the very end.
  {
    StringPiece in3(f.data(), f.size());
    std::size_t p = 0;
    StringPiece m;
    while (p < f.size() && sign_off_.Match(in3, p, f.size(), RE2::UNANCHORED, &m, 1)) {
      const std::size_t s = static_cast<std::size_t>(m.data() - f.data());
      p = s + std::max<std::size_t>(m.size(), 1);
      if (!clause_start(f, s) && s != 0) continue;
      if (auto h = parse_forward(fo, o, s + m.size(), 0.7, kStrong, cased)) {
        // only if nothing but punctuation/emoji follows the name
        std::size_t k = s + m.size();
        const std::string fv = text::fold(h->value);
        const std::size_t at = f.find(fv, k);
        if (at == std::string_view::npos) continue;
        k = at + fv.size();
        bool tail_clean = true;
        std::size_t t = k;
        while (t < f.size() && (f[t] == ' ' || f[t] == '\t' || f[t] == ',' || f[t] == '.')) ++t;
        if (t < f.size() && f[t] == '\n') {
          // A signature block: the name on its own line, then contact lines
          // ("+49 151 …", "WA: …", "x@y.com") with at most a few label words.
          int words = 0;
          bool in_word = false, in_address = false;
          for (std::size_t q = t; q < f.size(); ++q) {
            const char ch = f[q];
            if (ch == ' ' || ch == '\n' || ch == '\t') {
              in_word = in_address = false;
              continue;
            }
            if (ch == '@') in_address = true;
            if (text::is_ascii_alpha(ch) && !in_word && !in_address) {
              in_word = true;
              // an address's local part is not a word
              const std::size_t sp = f.find_first_of(" \n\t", q);
              const std::string_view token = f.substr(q, sp == std::string_view::npos ? std::string_view::npos : sp - q);
              if (token.find('@') == std::string_view::npos) ++words;
              else in_address = true;
            }
          }
          tail_clean = words <= 3;
        } else {
          for (; k < f.size(); ++k)
            if (text::is_ascii_alpha(f[k]) || text::is_digit(f[k])) tail_clean = false;
        }
        if (tail_clean && (!cased || std::isupper(static_cast<unsigned char>(h->value[0])))) consider(std::move(h));
      }
    }
  }

  if (!best && awaiting_name) consider(parse_bare(fo, o));
  return best;
}

// ---------------------------------------------------------------------------
// Phones

std::optional<std::string> Rules::validate_phone(std::string_view raw, bool cue) const {
  std::string digits;
  bool plus = false;
  // "+62 (0) 812 …": the trunk zero some people keep in brackets.
  std::string without_trunk;
  if (raw.find("(0)") != std::string_view::npos) {
    without_trunk.assign(raw.data(), raw.size());
    without_trunk.erase(without_trunk.find("(0)"), 3);
    raw = without_trunk;
  }
  for (char c : raw) {
    if (text::is_digit(c)) digits.push_back(c);
    else if (c == '+' && digits.empty()) plus = true;
  }
  if (digits.size() < 8 || digits.size() > 15) return std::nullopt;
  // libphonenumber parses with ICU regexes (tens of µs per call); the same
  // number recurs within a conversation (repeats, bot echoes, corrections),
  // so results are memoised per thread. Bounded: cleared when full.
  struct Cache {
    std::unordered_map<std::string, std::string> results;  // "" = invalid
    std::string key;
  };
  thread_local Cache cache;
  cache.key.assign(region_).append(cue ? "|1|" : "|0|").append(plus ? "+" : "").append(digits);
  if (auto it = cache.results.find(cache.key); it != cache.results.end()) {
    if (it->second.empty()) return std::nullopt;
    return it->second;
  }
  if (cache.results.size() >= 4096) cache.results.clear();
  auto result = validate_phone_uncached(digits, plus, cue);
  cache.results.emplace(cache.key, result ? *result : std::string());
  return result;
}

std::optional<std::string> Rules::validate_phone_uncached(const std::string& digits, bool plus, bool cue) const {
  auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber pn;
  const std::string input = plus ? "+" + digits : digits;
  if (util->Parse(input, plus ? "ZZ" : region_, &pn) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
  if (!util->IsValidNumber(pn)) return std::nullopt;
  if (!plus) {
    const bool idd = digits.starts_with("00");
    const bool trunk = !trunk_prefix_.empty() && digits.starts_with(trunk_prefix_) && !idd;
    const bool with_cc = digits.starts_with(country_code_) && pn.country_code() == std::stoi(country_code_) &&
                         digits.size() > country_code_.size() + 6;
    if (!trunk && !idd && !with_cc) {
      // Written without trunk prefix or country code: accept mobiles, and
      // fixed lines only when the text says it is a phone number.
      const auto type = util->GetNumberType(pn);
      const bool mobile = type == PhoneNumberUtil::MOBILE || type == PhoneNumberUtil::FIXED_LINE_OR_MOBILE;
      if (!mobile && !cue) return std::nullopt;
    }
  }
  std::string e164;
  util->Format(pn, PhoneNumberUtil::E164, &e164);
  return e164;
}

void Rules::find_phones(const text::Folded& fo, bool lenient, PhoneScan& out) const {
  out.numbers.clear();
  out.offsets.clear();
  out.trailing_fragment.clear();
  const std::string_view f = fo.text;
  // Cheap pre-check before any RE2 pass: a number (or the first half of a
  // split one) needs at least 4 digits.
  int digit_count = 0;
  for (char c : f)
    if (text::is_digit(c) && ++digit_count >= 4) break;
  if (digit_count < 4) return;

  StringPiece input(f.data(), f.size());
  StringPiece m;
  std::size_t pos = 0;
  while (pos < f.size() && phone_candidate_.Match(input, pos, f.size(), RE2::UNANCHORED, &m, 1)) {
    std::size_t b = static_cast<std::size_t>(m.data() - f.data());
    std::size_t e = b + m.size();
    pos = e;
    // Trim separators the greedy class swallowed at the end.
    while (e > b && !text::is_digit(f[e - 1])) --e;
    std::string_view cand = f.substr(b, e - b);
    // Unbalanced "(" at the start belongs to the text, not the number.
    std::size_t cand_digits = 0;
    for (char c : cand) cand_digits += text::is_digit(c);

    // Context before: from the clause start, at most 40 bytes.
    std::size_t ws = b > 40 ? b - 40 : 0;
    for (std::size_t k = b; k > ws; --k) {
      const char c = f[k - 1];
      if (c == '\n' || c == '!' || c == '?') {
        ws = k;
        break;
      }
    }
    std::string_view before = f.substr(ws, b - ws);
    // Letters glued to the number ("nowa0812…", "INV2024…").
    bool cue = false;
    if (b > 0 && text::is_ascii_alpha(f[b - 1])) {
      std::size_t k = b;
      while (k > 0 && text::is_ascii_alpha(f[k - 1])) --k;
      const std::string_view run = f.substr(k, b - k);
      if (!RE2::PartialMatch(StringPiece(run.data(), run.size()), phone_cue_suffix_)) continue;
      cue = true;
    } else {
      // The nearest cue decides: "no. order 0812…" is an order number,
      // "pendaftaran S1 … WA saya 0812…" a phone.
      std::size_t last_phone = std::string_view::npos, last_neg = std::string_view::npos;
      std::string_view phone_word, neg_text;
      StringPiece bs(before.data(), before.size());
      StringPiece cm;
      std::size_t p = 0;
      while (p < before.size() && phone_cue_.Match(bs, p, before.size(), RE2::UNANCHORED, &cm, 1)) {
        last_phone = static_cast<std::size_t>(cm.data() - before.data());
        phone_word = std::string_view(cm.data(), cm.size());
        p = last_phone + std::max<std::size_t>(cm.size() - 1, 1);
      }
      p = 0;
      while (p < before.size() && neg_cue_.Match(bs, p, before.size(), RE2::UNANCHORED, &cm, 1)) {
        last_neg = static_cast<std::size_t>(cm.data() - before.data());
        neg_text = std::string_view(cm.data(), cm.size());
        p = last_neg + std::max<std::size_t>(cm.size() - 1, 1);
      }
      if (last_neg != std::string_view::npos && (last_phone == std::string_view::npos || last_neg > last_phone))
        continue;
      // "reference number 55…", "account no. 12…", "ID nomor …": a generic
      // "number" word right after a non-phone cue belongs to that cue.
      if (last_neg != std::string_view::npos && last_phone != std::string_view::npos) {
        auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
        std::size_t ws = last_phone, we = last_phone + phone_word.size();
        while (ws < we && !alnum(before[ws])) ++ws;
        while (we > ws && !alnum(before[we - 1])) --we;
        std::size_t ne = last_neg + neg_text.size();
        while (ne > last_neg && !alnum(before[ne - 1])) --ne;
        const std::string_view word = before.substr(ws, we - ws);
        static constexpr std::array<std::string_view, 8> kGeneric = {"number", "num", "no", "nomor", "nomer",
                                                                     "nmr", "numero", "nr"};
        const bool generic = std::find(kGeneric.begin(), kGeneric.end(), word) != kGeneric.end();
        const bool adjacent = ne <= ws && before.substr(ne, ws - ne).find_first_not_of(" .:#-/") == std::string_view::npos;
        if (generic && adjacent) continue;
      }
      cue = last_phone != std::string_view::npos;
    }
    // A number the writer says is their old one.
    {
      const std::size_t ob = b > 32 ? b - 32 : 0;
      if (old_number_before(f.substr(ob, b - ob))) continue;
    }
    // Prices, dates, times.
    {
      const std::size_t pb = b > 14 ? b - 14 : 0;
      const std::string_view near = f.substr(pb, b - pb);
      if (RE2::PartialMatch(StringPiece(near.data(), near.size()), price_before_)) continue;
      const std::string_view after = f.substr(e, std::min<std::size_t>(16, f.size() - e));
      if (RE2::PartialMatch(StringPiece(after.data(), after.size()), price_after_)) continue;
      std::string_view trimmed = cand;
      while (!trimmed.empty() && (trimmed.front() == '(' || trimmed.front() == '+')) trimmed.remove_prefix(1);
      const StringPiece ts(trimmed.data(), trimmed.size());
      if (RE2::FullMatch(ts, thousands_) || RE2::FullMatch(ts, date_like_) || RE2::FullMatch(ts, time_like_)) continue;
    }
    // "wa 0812… itu nomor admin yg aktif?": a question about someone else's number.
    {
      std::size_t ae = e;
      while (ae < f.size() && ae < e + 40 && f[ae] != '\n' && f[ae] != '?' && f[ae] != '!') ++ae;
      if (ae < f.size() && f[ae] == '?') {
        const std::string_view after = f.substr(e, ae - e);
        if (RE2::PartialMatch(StringPiece(after.data(), after.size()), other_party_)) continue;
      }
    }
    if (lenient) cue = true;

    // Split at whitespace into groups; take the longest valid run from each
    // start ("0812 8844 3106 0817 5530 2298" is two numbers).
    struct Group {
      std::size_t b, e;
    };
    std::vector<Group> groups;
    {
      std::size_t k = 0;
      while (k < cand.size() && groups.size() < 16) {
        while (k < cand.size() && (cand[k] == ' ' || cand[k] == '\t')) ++k;
        std::size_t j = k;
        while (j < cand.size() && cand[j] != ' ' && cand[j] != '\t') ++j;
        if (j > k) groups.push_back({k, j});
        k = j;
      }
    }
    std::size_t gi = 0;
    std::size_t consumed_to = 0;  // cand offset up to which digits were used
    while (gi < groups.size()) {
      bool found = false;
      for (std::size_t gj = groups.size(); gj-- > gi;) {
        const std::string_view run = cand.substr(groups[gi].b, groups[gj].e - groups[gi].b);
        std::size_t nd = 0;
        for (char c : run) nd += text::is_digit(c);
        if (nd < 8 || nd > 15) continue;
        // a run that is part of a longer candidate must start like a number
        if (groups.size() > 1 && gi > 0) {
          std::string_view r = run;
          while (!r.empty() && r.front() == '(') r.remove_prefix(1);
          if (!(r.starts_with("+") || r.starts_with(trunk_prefix_.empty() ? "+" : trunk_prefix_) ||
                r.starts_with(country_code_)))
            continue;
        }
        if (auto e164 = validate_phone(run, cue)) {
          if (std::find(out.numbers.begin(), out.numbers.end(), *e164) == out.numbers.end()) {
            out.numbers.push_back(*e164);
            out.offsets.push_back(b + groups[gi].b);
          }
          gi = gj + 1;
          consumed_to = groups[gj].e;
          found = true;
          break;
        }
      }
      if (!found) ++gi;
    }
    // An unfinished number at the very end of the message: remember it, the
    // user may send the rest next ("0822-5147" … "-0683").
    if (consumed_to < cand.size() && cand_digits >= 4) {
      std::string_view rest = cand.substr(consumed_to);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
      std::size_t tail = e;
      while (tail < f.size() && (f[tail] == ' ' || f[tail] == '\t' || f[tail] == '-' || f[tail] == '.' ||
                                 f[tail] == '\n'))
        ++tail;
      std::size_t nd = 0;
      for (char c : rest) nd += text::is_digit(c);
      if (tail == f.size() && nd >= 4 && nd <= 12 &&
          (rest.starts_with("+") || rest.starts_with(trunk_prefix_) || rest.starts_with(country_code_))) {
        out.trailing_fragment.clear();
        for (char c : rest)
          if (text::is_digit(c) || (c == '+' && out.trailing_fragment.empty())) out.trailing_fragment.push_back(c);
      }
    }
  }
}

std::optional<std::string> Rules::join_fragment(std::string_view fragment, const text::Folded& fo,
                                                std::string* still_partial) const {
  if (still_partial) still_partial->clear();
  if (fragment.empty()) return std::nullopt;
  const std::string_view f = fo.text;
  StringPiece m;
  // a message of digits only (with separators) continues the number
  const bool digits_only = RE2::FullMatch(StringPiece(f.data(), f.size()), fragment_start_, &m);
  if (!digits_only) return std::nullopt;
  std::string joined(fragment);
  for (char c : std::string_view(m.data(), m.size()))
    if (text::is_digit(c)) joined.push_back(c);
  if (auto e164 = validate_phone(joined, true)) return e164;
  // "0812" … "3390" … "7745": still short, keep collecting
  if (still_partial && joined.size() < 13) *still_partial = joined;
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Emails

namespace {

// The words right before an address say it is not the writer's: the wrong one
// of a correction ("… it should be a@x.com not b@x.com", "bukan …", "não …"),
// or one the writer already wrote TO ("sudah kirim email ke info@…", "I sent
// my CV to admissions@…", "já enviei para …"). `before` is the text up to the
// address; only its current sentence counts.
bool not_the_writers_address(std::string_view before) {
  static const RE2 negated("(?:^|\\W)(?:not|bukan|bkn|nao|instead\\s+of|rather\\s+than|nahi)\\s*[:,]?\\s*$", opts());
  static const RE2 sent_to(
      "(?:\\b(?:sudah|udah|udh|sdh|td|tadi|telah|pernah)\\s+(?:saya\\s+|aku\\s+|sy\\s+)?(?:kirim|ngirim|email|e-mail)\\w*"
      "|\\bi(?:'ve|\\s+have|\\s+already|\\s+also)*\\s+(?:sent|emailed|mailed|wrote|written)"
      "|\\b(?:ja\\s+)?(?:enviei|mandei|escrevi))\\b[^!?\\n]{0,60}\\b(?:ke|kepada|to|para|pro)\\s*:?\\s*$",
      opts());
  if (before.size() > 120) before.remove_prefix(before.size() - 120);
  if (const auto cut = before.find_last_of("!?\n"); cut != std::string_view::npos) before.remove_prefix(cut + 1);
  const StringPiece in(before.data(), before.size());
  return RE2::PartialMatch(in, negated) || RE2::PartialMatch(in, sent_to);
}

}  // namespace

void Rules::find_emails(std::string_view folded, std::vector<std::string>& out) const {
  out.clear();
  StringPiece in(folded.data(), folded.size());
  if (!RE2::PartialMatch(in, email_probe_)) return;
  thread_local std::string s;
  s.assign(folded.data(), folded.size());
  RE2::GlobalReplace(&s, email_bracket_at_, "@");
  RE2::GlobalReplace(&s, email_bracket_dot_, ".");
  // spelled-out separators inside a local part: "james underscore lee at …"
  RE2::GlobalReplace(&s, email_underscore_, "\\1_\\2");
  for (int k = 0; k < 3 && RE2::GlobalReplace(&s, email_local_dot_, "\\1.\\2 at ") > 0; ++k) {
  }
  {
    // "x at y dot com" → "x@y.com", unless another " at " follows (then the
    // real local part is the later one: "contact me at sophie dot lane at
    // gmail dot com") or the TLD is not a plausible one.
    std::string rebuilt;
    StringPiece in2(s);
    std::size_t p = 0, copied = 0;
    std::array<StringPiece, 4> g;
    while (p < s.size() && email_word_at_.Match(in2, p, s.size(), RE2::UNANCHORED, g.data(), 4)) {
      const std::size_t mb = static_cast<std::size_t>(g[0].data() - s.data());
      const std::size_t me = mb + g[0].size();
      const std::string_view after(s.data() + me, s.size() - me);
      const std::string_view tld(g[3].data(), g[3].size());
      const bool chained = RE2::PartialMatch(StringPiece(after.data(), std::min<std::size_t>(after.size(), 12)),
                                             email_chain_at_);
      if (chained || !plausible_tld(tld)) {
        p = static_cast<std::size_t>(g[1].data() - s.data()) + g[1].size();
        continue;
      }
      rebuilt.append(s, copied, mb - copied);
      rebuilt.append(g[1].data(), g[1].size()).append("@").append(g[2].data(), g[2].size()).append(".").append(tld);
      copied = me;
      p = me;
    }
    if (copied > 0) {
      rebuilt.append(s, copied, std::string::npos);
      s.swap(rebuilt);
    }
  }
  for (int k = 0; k < 3 && RE2::GlobalReplace(&s, email_word_dot_, "@\\1.\\2") > 0; ++k) {
  }
  {
    // "ningrum . a @ gmail . com": dots with spaces on both sides inside the
    // local part, right before the '@'.
    StringPiece in2(s);
    StringPiece m;
    std::string rebuilt;
    std::size_t p = 0, copied = 0;
    while (p < s.size() && email_spaced_local_.Match(in2, p, s.size(), RE2::UNANCHORED, &m, 1)) {
      const std::size_t mb = static_cast<std::size_t>(m.data() - s.data());
      rebuilt.append(s, copied, mb - copied);
      for (char c : std::string_view(m.data(), m.size()))
        if (c != ' ' && c != '\t') rebuilt.push_back(c);
      copied = mb + m.size();
      p = copied;
    }
    if (copied > 0) {
      rebuilt.append(s, copied, std::string::npos);
      s.swap(rebuilt);
    }
  }
  RE2::GlobalReplace(&s, email_spaced_at_, "@");
  // "budi@yahoo . co . id": a space before the dot joins (a sentence end
  // "budi@gmail.com. Makasih" has none).
  for (int k = 0; k < 4 && RE2::GlobalReplace(&s, email_spaced_dot_, "\\1.\\2") > 0; ++k) {
  }

  StringPiece rest(s);
  StringPiece local, domain;
  while (RE2::FindAndConsume(&rest, email_, &local, &domain)) {
    std::string d(domain.data(), domain.size());
    while (!d.empty() && (d.back() == '.' || d.back() == '-')) d.pop_back();
    const std::size_t dot = d.rfind('.');
    if (dot == std::string::npos) {
      static constexpr std::array<std::string_view, 8> kProviders = {"gmail", "yahoo", "hotmail", "outlook",
                                                                     "ymail", "icloud", "live", "rediffmail"};
      if (std::find(kProviders.begin(), kProviders.end(), d) == kProviders.end()) continue;
      d += ".com";
    } else {
      const std::string_view tld(d.data() + dot + 1, d.size() - dot - 1);
      if (tld.size() < 2 || tld.size() > 24 ||
          !std::all_of(tld.begin(), tld.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
        continue;
    }
    std::string l(local.data(), local.size());
    if (l.size() > 64 || d.size() > 255) continue;
    if (not_the_writers_address(std::string_view(s.data(), static_cast<std::size_t>(local.data() - s.data()))))
      continue;
    std::string email = l + "@" + d;
    // An address that only exists after de-obfuscation ("ig saya @rina.putri"
    // joined to "saya@rina.putri") must end in a plausible TLD.
    if (dot != std::string::npos && folded.find(email) == std::string_view::npos &&
        !plausible_tld(std::string_view(d).substr(dot + 1)))
      continue;
    if (std::find(out.begin(), out.end(), email) == out.end()) out.push_back(std::move(email));
    if (out.size() >= 8) break;
  }
}

std::string Rules::email_fragment(std::string_view folded) const {
  StringPiece local;
  if (!RE2::PartialMatch(StringPiece(folded.data(), folded.size()), email_tail_, &local)) return {};
  if (local.size() > 64) return {};
  return std::string(local.data(), local.size());
}

std::optional<std::string> Rules::join_email(std::string_view fragment, std::string_view folded) const {
  if (fragment.empty()) return std::nullopt;
  StringPiece domain;
  if (!RE2::FullMatch(StringPiece(folded.data(), folded.size()), email_domain_only_, &domain)) return std::nullopt;
  std::string joined(fragment);
  joined += '@';
  joined.append(domain.data(), domain.size());
  std::vector<std::string> found;
  find_emails(joined, found);
  if (found.size() != 1) return std::nullopt;
  return found.front();
}

// ---------------------------------------------------------------------------
// Questions, corrections, intents, programs

unsigned Rules::asked_slots(std::string_view folded, bool has_phone, bool has_email) const {
  StringPiece in(folded.data(), folded.size());
  if (!RE2::PartialMatch(in, ask_signal_)) return 0;
  unsigned slots = 0;
  // The name of someone else to be enrolled: "Siapa nama adik yang mau
  // didaftarkan?", "Nama calon siswa?" (the writer's own name is what we capture).
  static const RE2 third_party(
      "\\bnama\\s+\\w+\\s+(?:yang|yg)\\s+(?:mau|akan|ingin|hendak|mo)\\s+(?:di)?daftar(?:kan)?\\b|"
      "\\bnama\\s+calon\\s+(?:siswa|murid|mahasiswa|peserta|pasien)\\b",
      opts());
  if ((RE2::PartialMatch(in, ask_name_) ||
       (RE2::PartialMatch(in, ask_name_general_) && !RE2::PartialMatch(in, ask_name_other_))) &&
      !RE2::PartialMatch(in, third_party))
    slots |= slot_bit(Slot::name);
  if (!has_phone && RE2::PartialMatch(in, ask_phone_)) slots |= slot_bit(Slot::phone);
  if (!has_email && RE2::PartialMatch(in, ask_email_)) slots |= slot_bit(Slot::email);
  if (has_programs() && RE2::PartialMatch(in, ask_program_)) slots |= slot_bit(Slot::program);
  return slots;
}

bool Rules::ends_with_introduction(std::string_view folded) const {
  return RE2::PartialMatch(StringPiece(folded.data(), folded.size()), trailing_intro_);
}

std::size_t Rules::correction_at(std::string_view folded) const {
  StringPiece m;
  if (!correction_.Match(StringPiece(folded.data(), folded.size()), 0, folded.size(), RE2::UNANCHORED, &m, 1))
    return std::string_view::npos;
  return static_cast<std::size_t>(m.data() - folded.data());
}

void Rules::find_signals(std::string_view folded, std::string& scratch, std::vector<std::string>& intents,
                         std::vector<std::string>& signal_keys) const {
  thread_local std::vector<int> hits;
  auto add = [](std::vector<std::string>& v, std::string_view k) {
    if (std::find(v.begin(), v.end(), k) == v.end()) v.emplace_back(k);
  };
  // Score signals see negations marked ("not_interested"); intents see the
  // plain text. Without a negation (the common case) one scan serves both.
  const std::string_view negated = negator_.apply(folded, scratch);
  const bool same = negated.data() == folded.data();
  phrases_.match(negated, hits);
  for (int i : hits) {
    const std::string& k = phrases_.key(i);
    if (k[0] == 's') add(signal_keys, std::string_view(k).substr(1));
    else if (same) add(intents, std::string_view(k).substr(1));
  }
  if (!same) {
    phrases_.match(folded, hits);
    for (int i : hits)
      if (const std::string& k = phrases_.key(i); k[0] == 'i') add(intents, std::string_view(k).substr(1));
  }
  if (folded.size() < 40 && RE2::FullMatch(StringPiece(folded.data(), folded.size()), opt_out_whole_))
    add(intents, "opt_out");
}

std::optional<std::string> Rules::find_program(std::string_view folded) const {
  if (!programs_re_) return std::nullopt;
  StringPiece in(folded.data(), folded.size());
  const int n = programs_re_->NumberOfCapturingGroups();
  thread_local std::vector<StringPiece> g;
  g.assign(static_cast<std::size_t>(n) + 1, StringPiece());
  std::optional<std::string> last;
  std::size_t pos = 0;
  while (pos < folded.size() && programs_re_->Match(in, pos, folded.size(), RE2::UNANCHORED, g.data(), n + 1)) {
    const std::size_t mb = static_cast<std::size_t>(g[0].data() - folded.data());
    // the trailing boundary character may start the next mention
    pos = mb + std::max<std::size_t>(g[0].size() > 1 ? g[0].size() - 1 : 1, 1);
    for (int k = 1; k <= n; ++k) {
      if (g[static_cast<std::size_t>(k)].data() == nullptr) continue;
      last = cfg_.programs[program_of_group_[static_cast<std::size_t>(k - 1)]];
      break;
    }
  }
  return last;
}

}  // namespace leadpipe::extract
