// Focused tests per rule of the extraction engine: names and their traps,
// honorifics, phones, emails, slot filling, corrections, intents, score and
// tier, state JSON, TTL, programs, the CLI line handling.
#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "leadpipe/extract/cli.hpp"
#include "leadpipe/extract/extractor.hpp"
#include "text.hpp"

using namespace leadpipe::extract;

namespace {

const Extractor& id_extractor() {
  static const Extractor e{TenantConfig{}};
  return e;
}

struct Turn {
  Speaker from;
  std::string text;
  std::int64_t at_ms = 0;
};

Result run(const std::vector<Turn>& turns, const Extractor& ex = id_extractor(), ConversationState* out = nullptr) {
  ConversationState st;
  int n = 0;
  for (const auto& t : turns) ex.observe(st, Message{"m" + std::to_string(++n), t.from, t.text, t.at_ms});
  if (out) *out = st;
  return ex.result(st);
}

std::string name_of(const std::vector<Turn>& turns) {
  const Result r = run(turns);
  return r.name ? r.name->value : std::string("<none>");
}

std::string name_of(const std::string& user_text) { return name_of({{Speaker::user, user_text}}); }

std::vector<std::string> phones_of(const std::vector<Turn>& turns, const Extractor& ex = id_extractor()) {
  std::vector<std::string> v;
  for (const auto& p : run(turns, ex).phones) v.push_back(p.value);
  return v;
}
std::vector<std::string> phones_of(const std::string& t) { return phones_of({{Speaker::user, t}}); }

std::vector<std::string> emails_of(const std::vector<Turn>& turns) {
  std::vector<std::string> v;
  for (const auto& e : run(turns).emails) v.push_back(e.value);
  return v;
}
std::vector<std::string> emails_of(const std::string& t) { return emails_of({{Speaker::user, t}}); }

using V = std::vector<std::string>;
constexpr auto U = Speaker::user;
constexpr auto B = Speaker::bot;

}  // namespace

TEST_CASE("names: explicit introductions in each language", "[unit]") {
  CHECK(name_of("nama saya Dina Marlina, email dina@x.com") == "Dina Marlina");
  CHECK(name_of("namasaya Lukman Hadi nowa081290037741") == "Lukman Hadi");
  CHECK(name_of("Halo kak, aku Arya Wibowo mau info kelas robotik") == "Arya Wibowo");
  CHECK(name_of("Nama: Mega Puspita\nNo WA: 0857 4431 2290") == "Mega Puspita");
  CHECK(name_of("Halo, ini Ayu Kartikasari, mau tanya S2") == "Ayu Kartikasari");
  CHECK(name_of("Hello! My name is Jessica Tan and I'd like info") == "Jessica Tan");
  CHECK(name_of("This is Sarah Johnson, calling about the open day") == "Sarah Johnson");
  CHECK(name_of("Hi, Wei Ling here from Singapore") == "Wei Ling");
  CHECK(name_of("Oi, meu nome é Carolina Dias, quero saber") == "Carolina Dias");
  CHECK(name_of("Olá, me chamo João Pedro Almeida e gostaria") == "João Pedro Almeida");
  CHECK(name_of("Boa tarde! Aqui é a Bruna Lima, quero agendar") == "Bruna Lima");
  CHECK(name_of("Hello, myself Rakesh Pandey from Lucknow") == "Rakesh Pandey");
  CHECK(name_of("Sir mera naam Amit hai, BCA ke liye") == "Amit");
  CHECK(name_of("Hi sir, Divya Menon bol rahi hoon") == "Divya Menon");
  CHECK(name_of("Hi, Kavita this side, pls share fee structure") == "Kavita");
  CHECK(name_of("Hi team, Sourav from Kolkata, interested in PGDM") == "Sourav");
  CHECK(name_of("Message from Budi") == "<none>");
  CHECK(name_of("Greetings from Bali") == "<none>");
  CHECK(name_of("Do you offer evening classes? Thanks, Michael Brown") == "Michael Brown");
}

TEST_CASE("names: traps are not names", "[unit]") {
  CHECK(name_of("saya mau tanya, kampusnya di daerah mana ya kak?") == "<none>");
  CHECK(name_of("saya dari Surabaya kak, biaya kos berapa?") == "<none>");
  CHECK(name_of("I'm interested in your UX design course") == "<none>");
  CHECK(name_of("I'm from Jakarta, is it online?") == "<none>");
  CHECK(name_of("Sou de Belo Horizonte e queria saber") == "<none>");
  CHECK(name_of("saya dari SMA Negeri 3 Malang, mau tanya") == "<none>");
  CHECK(name_of("Saya alumni SMK Telkom, mau lanjut D3") == "<none>");
  CHECK(name_of("saya orang tua calon siswa, anak saya namanya Rafi") == "<none>");
  CHECK(name_of("Hi, I'm Mr. Lee's assistant, booking for him") == "<none>");
  CHECK(name_of("Sou o pai da Beatriz, queria saber") == "<none>");
  CHECK(name_of("I'm enquiring for my son, his name is Jake") == "<none>");
  CHECK(name_of("saya lahir 12-08-2005, masih bisa daftar?") == "<none>");
  CHECK(name_of("I'm thrilled to hear that") == "<none>");
  for (const char* t : {"Halo kak, saya punya pertanyaan", "saya malas antri", "Saya selalu telat", "Oi, sou aposentado",
                        "Sou iniciante", "Eu sou daqui mesmo", "I am certain about it", "saya biasanya sibuk"}) {
    INFO(t);
    CHECK(name_of(t) == "<none>");
  }
  CHECK(name_of("sure, it's lisa.wong@example.org") == "<none>");
}

TEST_CASE("names: honorifics stripped, case normalised, accents kept", "[unit]") {
  CHECK(name_of("SAYA IBU RATNA, MAU TANYA BIAYA TK") == "Ratna");
  CHECK(name_of("Kak, saya Pak Joko, pemilik bengkel") == "Joko");
  CHECK(name_of("Oi! Sou a Dra. Helena Martins, dentista") == "Helena Martins");
  CHECK(name_of("I'm Dr. Amanda Reyes, booking a consultation") == "Amanda Reyes");
  CHECK(name_of("Namaste, I am Suresh Kumar ji, need info") == "Suresh Kumar");
  CHECK(name_of("NAMA SAYA HERU SANTOSO, MAU DAFTAR") == "Heru Santoso");
  CHECK(name_of("nama saya nur aini") == "Nur Aini");
  CHECK(name_of("Me chamo ÍTALO") == "Ítalo");
  CHECK(name_of("Meu nome é Maria da Silva Santos") == "Maria da Silva Santos");
  CHECK(name_of("Hi, I'm Ahmad bin Ismail, interested") == "Ahmad bin Ismail");
  CHECK(name_of("my name is kevin o'brien") == "Kevin O'Brien");
  // Names that are also common words count when written as names.
  CHECK(name_of("nama saya Hari") == "Hari");
  CHECK(name_of("nama saya Kasih Purnama") == "Kasih Purnama");
  CHECK(name_of("my name is Hope") == "Hope");
  CHECK(name_of("Hi, I am Will Smith, need info") == "Will Smith");
  CHECK(name_of("Saya Bunda Aisyah, mau tanya PAUD") == "<none>");  // Aisyah's mother
  CHECK(name_of("nama saya Ali") == "Ali");
  // Only the keyboard's capital at the start: the lower-case name still counts.
  CHECK(name_of("Saya budi mau tanya") == "Budi");
  CHECK(name_of("Halo kak, saya budi santoso, mau tanya") == "Budi Santoso");
}

TEST_CASE("names: split over messages, abbreviations, denials", "[unit]") {
  // "nama saya" alone: the next message is the name.
  CHECK(name_of({{U, "nama saya"}, {U, "Budi Santoso"}}) == "Budi Santoso");
  CHECK(name_of({{U, "my name is"}, {U, "why do you ask?"}}) == "<none>");
  CHECK(name_of("saya Muh. Fadli Rahman, mau tanya kuliah") == "Muh. Fadli Rahman");
  CHECK(name_of("saya M. Rizky") == "M. Rizky");
  CHECK(name_of("Nama saya Bagas.No hp 0812 1212 3434") == "Bagas");  // missing space after a sentence
  CHECK(name_of("I am Ana. Need info pls") == "Ana");
  CHECK(name_of("Sir mera naam Deepika Padukone nahi hai lol, main Deepika Rao hoon") == "Deepika Rao");
  CHECK(name_of("nama saya bukan Budi") == "<none>");
}

TEST_CASE("names: the explicit full name beats a nickname", "[unit]") {
  CHECK(name_of("nama saya Stefani Wijaya tapi panggil aja Fani ya kak") == "Stefani Wijaya");
  CHECK(name_of("panggil saja Dodi kak") == "Dodi");
  CHECK(name_of("Pode me chamar de Bia") == "Bia");
  // A later, fuller introduction of the same person upgrades the name.
  CHECK(name_of({{U, "saya Rina"}, {U, "nama lengkap saya Rina Wulandari"}}) == "Rina Wulandari");
}

TEST_CASE("phones: normalised to E.164 with the tenant region", "[unit]") {
  CHECK(phones_of("WA saya 0812-3390-7745") == V{"+6281233907745"});
  CHECK(phones_of("Kontak saya 6281543327790") == V{"+6281543327790"});
  CHECK(phones_of("no hp: +62 857-1234-5678") == V{"+6285712345678"});
  CHECK(phones_of("WhatsApp +65 8722 4190") == V{"+6587224190"});
  CHECK(phones_of("Contact +91 94150 33827") == V{"+919415033827"});
  CHECK(phones_of("WhatsApp +55 11 98123-5570") == V{"+5511981235570"});
  CHECK(phones_of("WA 0812 8844 3106, kalau telpon ke 0817 5530 2298") == V{"+6281288443106", "+6281755302298"});
  CHECK(phones_of("Tolong hubungi 0812-5555-4444 0812-5555-4445") == V{"+6281255554444", "+6281255554445"});
  CHECK(phones_of("telp rumah (021) 7654-3210") == V{"+622176543210"});
  // A foreign number without its country code is not valid in the tenant's region.
  CHECK(phones_of("Mera number 99873 41256 hai") == V{});
  // The same text under a Brazilian tenant.
  TenantConfig br;
  br.region = "BR";
  const Extractor br_ex(br);
  CHECK(phones_of({{U, "meu zap é (11) 91234-5678"}}, br_ex) == V{"+5511912345678"});
}

TEST_CASE("phones: prices, dates, ID cards, OTPs, orders and accounts are ignored", "[unit]") {
  CHECK(phones_of("harga paketnya Rp 2.500.000 ya kak?") == V{});
  CHECK(phones_of("biaya 5.000.000 atau 6.500.000?") == V{});
  CHECK(phones_of("Is the price $1,250 per month?") == V{});
  CHECK(phones_of("O valor de R$ 1.200,00 é por mês?") == V{});
  CHECK(phones_of("saya lahir 12-08-2005") == V{});
  CHECK(phones_of("NIK saya 3201234567890001") == V{});
  CHECK(phones_of("kode OTP nya 48291377 kak") == V{});
  CHECK(phones_of("no order saya 081234567890 belum sampai kak") == V{});
  CHECK(phones_of("nomor rekening BCA 1234567890") == V{});
  CHECK(phones_of("Invoice INV-20240512 is still unpaid") == V{});
  CHECK(phones_of("Meu CPF é 123.456.789-09") == V{});
  CHECK(phones_of("kantor buka jam 08.00-16.00 kan kak?") == V{});
  CHECK(phones_of("nomor pendaftaran 2024-0012345") == V{});
  CHECK(phones_of("VA BCA 8808 0812 3456 7890") == V{});
  CHECK(phones_of("min, wa 081 234 567 890 itu nomor admin yg aktif?") == V{});
  CHECK(phones_of("SIM 123456789012") == V{});
  CHECK(phones_of("NIK 3273 0123 4567 0001") == V{});
  // … while a phone cue nearer to the number wins
  CHECK(phones_of("sim, meu número é +55 11 98765-4321") == V{"+5511987654321"});
  CHECK(phones_of("+62 (0) 812-3456-7890") == V{"+6281234567890"});
  CHECK(phones_of("wa.me/6281234567890") == V{"+6281234567890"});
}

TEST_CASE("phones: numbers the bot said are not the user's", "[unit]") {
  CHECK(phones_of({{B, "hubungi admin beasiswa di 0811-9080-7766 ya."}, {U, "siap, 0811 9080 7766 ya kak?"}}) == V{});
  // … but the user's own number still counts.
  CHECK(phones_of({{B, "hubungi admin di 0811-9080-7766 ya."}, {U, "wa saya 0812 1111 2222"}}) ==
        V{"+6281211112222"});
}

TEST_CASE("phones: a number split over two messages is joined", "[unit]") {
  CHECK(phones_of({{U, "no hp aku 0822-5147"}, {U, "-0683"}}) == V{"+6282251470683"});
  CHECK(phones_of({{U, "nomor saya 0813"}, {U, "7788 9900"}}) == V{"+6281377889900"});
  CHECK(phones_of({{U, "wa saya 0812"}, {U, "3390"}, {U, "7745"}}) == V{"+6281233907745"});
  CHECK(phones_of({{U, "no hp saya 0813"}, {U, "4455"}, {U, "6677 kak"}}) == V{"+6281344556677"});
  // An unrelated message in between drops the fragment.
  CHECK(phones_of({{U, "no hp aku 0822-5147"}, {U, "eh bentar"}, {U, "0683"}}) == V{});
}

TEST_CASE("emails: plain, obfuscated, spaced, lower-cased", "[unit]") {
  CHECK(emails_of("email: ANDI.PRATAMA@GMAIL.COM") == V{"andi.pratama@gmail.com"});
  CHECK(emails_of("email dinamarlina88 [at] gmail [titik] com") == V{"dinamarlina88@gmail.com"});
  CHECK(emails_of("claire_bennett[at]outlook[dot]com") == V{"claire_bennett@outlook.com"});
  CHECK(emails_of("email marcelo.freitas (arroba) hotmail.com") == V{"marcelo.freitas@hotmail.com"});
  CHECK(emails_of("galuh.anindita @gmail.com") == V{"galuh.anindita@gmail.com"});
  CHECK(emails_of("email saya rina.wati at gmail dot com ya") == V{"rina.wati@gmail.com"});
  CHECK(emails_of("my email is tom dot harris at outlook dot com") == V{"tom.harris@outlook.com"});
  CHECK(emails_of("contact me at sophie dot lane at gmail dot com") == V{"sophie.lane@gmail.com"});
  CHECK(emails_of("mari.souza arroba gmail ponto com") == V{"mari.souza@gmail.com"});
  CHECK(emails_of("dini@gmail") == V{"dini@gmail.com"});
  CHECK(emails_of("I'll be at home at noon") == V{});
  CHECK(emails_of("ig saya @rina.putri") == V{});  // an Instagram handle, not an address
  CHECK(emails_of("ningrum . a @ gmail . com") == V{"ningrum.a@gmail.com"});
  CHECK(emails_of("Terima kasih. budi@gmail.com") == V{"budi@gmail.com"});
  // an address split after its '@'
  CHECK(emails_of({{U, "email saya andika.putra@"}, {U, "gmail.com"}}) == V{"andika.putra@gmail.com"});
  CHECK(emails_of("email budi @ gmail.com") == V{"budi@gmail.com"});
  CHECK(emails_of({{B, "Kirim berkas ke admisi@kampus.ac.id ya"}, {U, "oke saya kirim ke admisi@kampus.ac.id"}}) == V{});
}

TEST_CASE("slots: a bot question makes a bare reply count", "[unit]") {
  CHECK(name_of({{B, "Halo kak! Namanya siapa?"}, {U, "Rara"}, {U, "mau tanya jurusan desain interior"}}) == "Rara");
  CHECK(name_of({{B, "Nama lengkap kakak siapa ya?"}, {U, "sinta maharani"}}) == "Sinta Maharani");
  CHECK(name_of({{B, "May I know who I'm chatting with?"}, {U, "Marcus"}}) == "Marcus");
  CHECK(name_of({{B, "Qual é o seu nome?"}, {U, "Letícia"}}) == "Letícia");
  CHECK(name_of({{B, "Com quem eu falo?"}, {U, "Com a Juliana"}}) == "Juliana");
  CHECK(name_of({{B, "Boleh minta nama dan nomor WA kak?"}, {U, "Wawan kak. Hubungi lewat WA ini aja"}}) == "Wawan");
  CHECK(name_of({{B, "What's your name?"}, {U, "It's Priya"}}) == "Priya");
  // Without a question, a bare word is not a name.
  CHECK(name_of({{U, "Rara"}}) == "<none>");
}

TEST_CASE("slots: replies that are clearly not names do not fill the slot", "[unit]") {
  CHECK(name_of({{B, "Boleh tahu nama kakak?"}, {U, "mau tanya jurusan desain interior"}}) == "<none>");
  CHECK(name_of({{B, "Boleh tahu nama kakak?"}, {U, "kenapa harus kasih nama?"}}) == "<none>");
  CHECK(name_of({{B, "What's your name?"}, {U, "why do you need it?"}}) == "<none>");
  CHECK(name_of({{B, "Boleh tahu nama kakak?"}, {U, "Jurusan apa saja yang ada?"}}) == "<none>");
  CHECK(name_of({{B, "Boleh tahu nama kakak?"}, {U, "halo kak"}}) == "<none>");
  CHECK(name_of({{B, "Email kakak?"}, {U, "rina.w@example.com"}}) == "<none>");
  // Short replies people send to "what's your name?" that are not names.
  for (const char* reply :
       {"STOP", "ok", "Iya", "Tidak", "Nanti", "Sebentar", "Boleh", "Siap", "No", "Yes", "Sure", "Later", "Não", "Claro",
        "Haan", "Nahi", "Thanks", "Makasih", "Halo", "Test", "P", "Min", "Kak", "Info", "Promo", "Lokasi", "Jadwal",
        "Daftar", "Online", "Cancel", "Berhenti", "Unsubscribe", "Parar", "Noted", "Mantap", "Hahaha", "wkwkwk",
        "Private", "Secret", "Guest", "Terserah", "Whatever", "Rahasia", "Skip", "Kenapa", "Admin", "Orang tua",
        "Mahasiswa", "Bandung", "SMA 3"}) {
    INFO(reply);
    CHECK(name_of({{B, "Boleh tahu nama kakak?"}, {U, reply}}) == "<none>");
  }
  // The slot stays open over a non-answer.
  CHECK(name_of({{B, "Boleh tahu nama kakak?"}, {U, "halo kak"}, {U, "Tono"}}) == "Tono");
}

TEST_CASE("slots: awaited set, cleared when filled, evidence says slot", "[unit]") {
  ConversationState st;
  const auto& ex = id_extractor();
  ex.observe(st, {"b1", B, "Boleh minta nama dan alamat email kakak?", 1000});
  CHECK(st.awaiting == (slot_bit(Slot::name) | slot_bit(Slot::email)));
  CHECK(ex.result(st).awaiting == V{"name", "email"});
  ex.observe(st, {"u1", U, "Galuh Anindita", 2000});
  CHECK(st.awaiting == slot_bit(Slot::email));
  REQUIRE(st.name);
  CHECK(st.name->evidence.layer == "slot");
  CHECK(st.name->evidence.message_id == "u1");
  CHECK(st.name->evidence.detected_at_ms == 2000);
  ex.observe(st, {"u2", U, "galuh.anindita @gmail.com", 3000});
  CHECK(st.awaiting == 0);
  REQUIRE(st.emails.size() == 1);
  CHECK(st.emails[0].evidence.layer == "slot");
  // A bot statement with the bot's own contact is not a question for the user's.
  ConversationState st2;
  ex.observe(st2, {"b1", B, "Untuk info lebih lanjut hubungi admin di 0811-9080-7766 ya.", 0});
  CHECK(st2.awaiting == 0);
}

TEST_CASE("TTL: a question older than slot_ttl is forgotten", "[unit]") {
  TenantConfig cfg;
  cfg.slot_ttl = std::chrono::hours(6);
  const Extractor ex(cfg);
  const std::int64_t h = 3600 * 1000;
  ConversationState st;
  ex.observe(st, {"b1", B, "Boleh tahu nama kakak?", 10 * h});
  ex.observe(st, {"u1", U, "Rara", 10 * h + 6 * h + 1});
  CHECK_FALSE(st.name);
  CHECK(st.awaiting == 0);
  // Within the TTL the reply counts.
  ConversationState st2;
  ex.observe(st2, {"b1", B, "Boleh tahu nama kakak?", 10 * h});
  ex.observe(st2, {"u1", U, "Rara", 10 * h + 5 * h});
  REQUIRE(st2.name);
  CHECK(st2.name->value == "Rara");
}

TEST_CASE("corrections replace the earlier value", "[unit]") {
  CHECK(phones_of({{U, "saya Fikri, hp 0878 3312 9054"}, {U, "ralat kak, nomor yang benar 0878 3312 9045"}}) ==
        V{"+6287833129045"});
  CHECK(phones_of({{U, "my number is 0812 6605 3381"}, {U, "sorry, wrong digits, it's 0812 6605 3318"}}) ==
        V{"+6281266053318"});
  CHECK(phones_of({{U, "meu whats é +55 21 98888-7776"}, {U, "desculpa, o certo é +55 21 98888-7777"}}) ==
        V{"+5521988887777"});
  CHECK(emails_of({{U, "my email is jen@gmial.com"}, {U, "oops typo, it's jen@gmail.com"}}) == V{"jen@gmail.com"});
  // Without a correction word a second number is added, not swapped.
  CHECK(phones_of({{U, "wa 0812 1111 2222"}, {U, "telp kantor 021 2955 7788"}}).size() == 2);
  CHECK(name_of({{U, "saya Budi"}, {U, "eh salah, nama saya Bayu"}}) == "Bayu");
}

TEST_CASE("intents", "[unit]") {
  auto intents = [](const std::string& t) { return run({{U, t}}).intents; };
  auto has = [&](const std::string& t, const std::string& i) {
    const auto v = intents(t);
    return std::find(v.begin(), v.end(), i) != v.end();
  };
  CHECK(has("mau daftar S1 kak", "register_intent"));
  CHECK(has("I want to enroll next term", "register_intent"));
  CHECK(has("quero fazer minha matrícula", "register_intent"));
  CHECK(has("boleh datang ke kampus hari sabtu?", "visit_intent"));
  CHECK(has("can I book a campus tour?", "visit_intent"));
  CHECK(has("biayanya berapa kak?", "pricing_inquiry"));
  CHECK(has("how much are the fees?", "pricing_inquiry"));
  CHECK(has("quanto custa a mensalidade?", "pricing_inquiry"));
  CHECK(has("STOP", "opt_out"));
  CHECK(has("berhenti", "opt_out"));
  CHECK(has("please unsubscribe me", "opt_out"));
  CHECK(has("Parar", "opt_out"));
  CHECK(has("nama saya Budi", "share_personal_info"));
  CHECK(has("0812 3456 7890", "share_personal_info"));
  CHECK_FALSE(has("stop by the campus next week?", "opt_out"));
  CHECK_FALSE(has("halo kak", "pricing_inquiry"));
}

TEST_CASE("score: base, keywords, sentiment, urgency, clamp, tier", "[unit]") {
  const auto& ex = id_extractor();
  const Score neutral = ex.score("halo");
  CHECK(neutral.value == 50);
  CHECK(neutral.tier == "warm");
  CHECK(neutral.reasons.empty());

  // two high-value (+40 cap) + urgency (+30) → 100 (clamped) → hot
  const Score hot = ex.score("saya mau daftar dan booking konsultasi hari ini");
  CHECK(hot.value == 100);
  CHECK(hot.tier == "hot");

  // high-value is capped at +40 whatever the count
  const Score capped = ex.score("register enroll apply admission");
  CHECK(capped.value == 90);

  // medium +10 each, capped at +20
  CHECK(ex.score("price").value == 60);
  CHECK(ex.score("price schedule brochure").value == 70);

  // negative sentiment and low urgency
  const Score cold = ex.score("terlalu mahal, mungkin tahun depan saja");
  CHECK(cold.value == 20);
  CHECK(cold.tier == "cold");
  CHECK(std::find_if(cold.reasons.begin(), cold.reasons.end(),
                     [](const std::string& r) { return r.rfind("negative_sentiment:", 0) == 0; }) != cold.reasons.end());

  // negation flips "interested"
  CHECK(ex.score("I'm interested").value == 80);
  CHECK(ex.score("I'm not interested").value == 30);
  CHECK(ex.score("saya tidak tertarik").value == 30);
  CHECK(ex.score("não tenho interesse").value == 30);

  CHECK(tier_for(80, ScoringConfig::defaults()) == "hot");
  CHECK(tier_for(79, ScoringConfig::defaults()) == "warm");
  CHECK(tier_for(50, ScoringConfig::defaults()) == "warm");
  CHECK(tier_for(49, ScoringConfig::defaults()) == "cold");

  // Chat score counts only the user's words, not the bot's.
  const Result r = run({{B, "Pendaftaran dibuka hari ini! Daftar segera, booking sekarang"}, {U, "ok"}});
  CHECK(r.score == 50);
}

TEST_CASE("score: per-tenant keyword lists", "[unit]") {
  TenantConfig cfg;
  cfg.scoring = ScoringConfig::defaults();
  cfg.scoring.high_value = {"botox", "filler"};
  const Extractor ex(cfg);
  CHECK(ex.score("botox please").value == 70);
  CHECK(ex.score("daftar").value == 50);  // not in this tenant's list
}

TEST_CASE("programs: tenant vocabulary, case- and accent-insensitive", "[unit]") {
  TenantConfig cfg;
  cfg.programs = {"S1 Teknik Elektro", "Teknik Sipil", "Administração", "Desain Interior"};
  const Extractor ex(cfg);
  Result r = run({{U, "mau tanya pendaftaran s1 teknik elektro kak"}}, ex);
  REQUIRE(r.program);
  CHECK(r.program->value == "S1 Teknik Elektro");
  r = run({{U, "quero saber do curso de ADMINISTRACAO"}}, ex);
  REQUIRE(r.program);
  CHECK(r.program->value == "Administração");
  // program words are never names in a slot reply
  r = run({{B, "Boleh tahu nama kakak?"}, {U, "Desain Interior"}}, ex);
  CHECK_FALSE(r.name);
  REQUIRE(r.program);
  CHECK(r.program->value == "Desain Interior");
  CHECK_FALSE(run({{U, "mau tanya teknik"}}, ex).program);
}

TEST_CASE("state: JSON round trip and validation", "[unit]") {
  ConversationState st;
  run({{U, "nama saya Dina Marlina, email dina@example.com, wa 0812 3456 7890"},
       {B, "Terima kasih! Program apa yang diminati? Hubungi juga 0811-9080-7766"},
       {U, "no hp lain 0822-5147"},
       {B, "Boleh tahu email kantor kakak?"}},
      id_extractor(), &st);
  CHECK(st.pending_phone == "08225147");
  CHECK(st.bot_phones == V{"+6281190807766"});
  const std::string json = st.to_json();
  const ConversationState back = ConversationState::from_json(json);
  CHECK(back == st);
  CHECK(back.to_json() == json);

  CHECK_THROWS_AS(ConversationState::from_json("{"), std::invalid_argument);
  CHECK_THROWS_AS(ConversationState::from_json("[]"), std::invalid_argument);
  CHECK_THROWS_AS(ConversationState::from_json(R"({"v":2})"), std::invalid_argument);
  CHECK_THROWS_AS(ConversationState::from_json(R"({"v":1,"awaiting":["shoe"]})"), std::invalid_argument);
  CHECK_THROWS_AS(ConversationState::from_json(R"({"v":1,"phones":[{"value":1}]})"), std::invalid_argument);
  CHECK(ConversationState::from_json(R"({"v":1})") == ConversationState{});
}

TEST_CASE("config: unknown region is rejected", "[unit]") {
  TenantConfig cfg;
  cfg.region = "XX";
  CHECK_THROWS_AS(Extractor(cfg), std::invalid_argument);
}

TEST_CASE("cli: one output line per input line, errors carry the id", "[unit]") {
  std::istringstream in(
      "{\"id\":\"a\",\"messages\":[{\"from\":\"user\",\"text\":\"nama saya Budi, wa 0812 3456 7890\"}]}\n"
      "\n"
      "not json\n"
      "{\"id\":\"b\",\"messages\":[{\"from\":\"robot\",\"text\":\"x\"}]}\n"
      "{\"id\":7,\"messages\":{}}\n"
      "[1,2]\n"
      "{\"id\":\"c\",\"messages\":[]}\r\n");
  std::ostringstream out;
  REQUIRE(run_cli(in, out, "ID") == 0);
  std::vector<rapidjson::Document> lines;
  std::istringstream outs(out.str());
  std::string line;
  while (std::getline(outs, line)) {
    lines.emplace_back();
    lines.back().Parse(line.c_str());
    REQUIRE_FALSE(lines.back().HasParseError());
  }
  REQUIRE(lines.size() == 6);
  CHECK(std::string(lines[0]["id"].GetString()) == "a");
  CHECK(std::string(lines[0]["name"].GetString()) == "Budi");
  CHECK(std::string(lines[0]["phones"][0].GetString()) == "+6281234567890");
  CHECK(lines[0]["score"].IsInt());
  CHECK(std::string(lines[0]["tier"].GetString()) == "warm");
  CHECK(lines[1]["id"].IsNull());
  CHECK(lines[1].HasMember("error"));
  CHECK(std::string(lines[2]["id"].GetString()) == "b");
  CHECK(lines[2].HasMember("error"));
  CHECK((lines[3]["id"].IsInt() && lines[3]["id"].GetInt() == 7));
  CHECK(lines[3].HasMember("error"));
  CHECK(lines[4].HasMember("error"));
  CHECK(std::string(lines[5]["id"].GetString()) == "c");
  CHECK(lines[5]["name"].IsNull());
  CHECK(lines[5]["phones"].Size() == 0);
}

TEST_CASE("cli: an over-long line is reported, not buffered, and the run goes on", "[unit]") {
  std::string big = "{\"id\":\"big\",\"messages\":[{\"from\":\"user\",\"text\":\"";
  big.append(kMaxLineBytes + 10, 'a');
  big += "\"}]}\n{\"id\":\"next\",\"messages\":[]}\n";
  std::istringstream in(big);
  std::ostringstream out;
  REQUIRE(run_cli(in, out, "ID") == 0);
  const std::string s = out.str();
  CHECK(s.find("\"error\"") != std::string::npos);
  CHECK(s.find("\"id\":\"next\"") != std::string::npos);
}

TEST_CASE("text folding keeps a map to the original", "[unit]") {
  text::Folded f;
  text::fold("LETÍCIA São’s", f);
  CHECK(f.text == "leticia sao's");
  REQUIRE(f.map.size() == f.text.size() + 1);
  CHECK(f.map[3] == 3);   // "i" from "Í" (2 bytes)
  CHECK(f.map[4] == 5);   // "c" after it
  CHECK(text::title_case_word("LETÍCIA") == "Letícia");
  CHECK(text::title_case_word("o'brien-silva") == "O'Brien-Silva");
  CHECK(text::title_case_word("McDonald") == "McDonald");
  // invalid UTF-8 becomes spaces, never half characters
  text::fold(std::string("a\xC3") + "b\xFF", f);
  CHECK(f.text == "a b ");
}

TEST_CASE("emails: an address the writer sent to, or the wrong one of a correction, is not theirs", "[unit]") {
  CHECK(emails_of("Kak, saya sudah kirim email ke info@kampus.ac.id tapi belum dibalas") == V{});
  CHECK(emails_of("I've sent my CV to hr@company.com, my email is ana.r@gmail.com") == V{"ana.r@gmail.com"});
  CHECK(emails_of("ja enviei para contato@escola.com.br ontem") == V{});
  CHECK(emails_of("It should be amy.chen@gmail.com not amy.chen@gmai.com") == V{"amy.chen@gmail.com"});
  CHECK(emails_of("email saya andre.w@gmail.com, bukan andre.w@yahoo.com") == V{"andre.w@gmail.com"});
  // Requests to send TO the writer stay theirs.
  CHECK(emails_of("could you send the brochure to jess.wong@gmail.com?") == V{"jess.wong@gmail.com"});
  CHECK(emails_of("tolong kirim ke rina.p@gmail.com ya kak") == V{"rina.p@gmail.com"});
  // A sentence boundary ends the cue.
  CHECK(emails_of("I sent it to them yesterday. My email is tom.b@gmail.com") == V{"tom.b@gmail.com"});
}

TEST_CASE("names and numbers: batch 21 rules", "[unit]") {
  CHECK(name_of("Hello! Name is Farah Aziz, mobile 0812 3030 4040") == "Farah Aziz");
  CHECK(name_of("I m Arjun, my no. +91 99001 23456") == "Arjun");
  CHECK(name_of({{B, "Halo! Dengan siapa kami berbicara?"}, {U, "sama Lina kak"}}) == "Lina");
  CHECK(name_of("Terima kasih infonya kak, saya diskusikan dulu dengan orang tua") == "<none>");
  CHECK(name_of("saya tanyakan ke ortu dulu ya kak") == "<none>");
  CHECK(name_of("saya I Wayan Sudarma dari Gianyar") == "I Wayan Sudarma");
  CHECK(name_of({{B, "Boleh tahu nama lengkap kakak?"}, {U, "Ni Luh Putu Ariani"}}) == "Ni Luh Putu Ariani");
  CHECK(name_of("i think ni luh is nice") == "<none>");
  CHECK(phones_of("Reference number 5566778899, I paid yesterday") == V{});
  CHECK(phones_of("My account number is 0812345678901, can you check the payment?") == V{});
  CHECK(phones_of("my phone number is 0812 5566 7788") == V{"+6281255667788"});
  CHECK(name_of({{B, "Nama lengkap sesuai ijazah ya kak"}, {U, "Ni Luh Putu Ariani"}}) == "Ni Luh Putu Ariani");
  CHECK(name_of({{B, "Pendaftaran dibuka sampai akhir bulan ya kak"}, {U, "Oke"}}) == "<none>");
}

TEST_CASE("names and numbers: signature blocks, nationalities, old numbers", "[unit]") {
  CHECK(name_of("Best regards,\nThomas Müller\n+49 151 23456789") == "Thomas Müller");
  CHECK(name_of("Thanks,\nBudi\nSaya mau tanya biaya kuliah jurusan hukum dan ekonomi") == "<none>");
  CHECK(name_of("I'm Indonesian, living in Perth. What are the fees?") == "<none>");
  CHECK(name_of("Hi, I'm Julian, I'm Australian but studying in Bali") == "Julian");
  CHECK(phones_of("Please note my new number: 0856 1122 3344 (the old one 0856 1122 3300 is gone)") ==
        V{"+6285611223344"});
  CHECK(phones_of("nomor lama saya 0812 1111 2222 sudah tidak aktif, pakai 0813 3333 4444") == V{"+6281333334444"});
  CHECK(phones_of("I am 17 years old, my number 0812 1111 2222") == V{"+6281211112222"});
  CHECK(phones_of("sir my roll no is 2345678901 for entrance exam") == V{});
  CHECK(phones_of("enrollment number 9876543210") == V{});
}

TEST_CASE("slots: a question for someone else's name does not await the writer's", "[unit]") {
  CHECK(name_of({{B, "Siapa nama adik yang mau didaftarkan?"}, {U, "Kevin, kelas 6"}}) == "<none>");
  CHECK(name_of({{B, "Nama calon siswa dan asal sekolahnya kak?"}, {U, "Aurel, SMPN 1 Depok"}}) == "<none>");
  CHECK(name_of({{B, "Boleh tahu nama kakak?"}, {U, "Kevin"}}) == "Kevin");
}
