// The rule layer (internal): compiled patterns and the per-message finders
// for names, phones, emails, slot questions, corrections, intents and
// programs. Owned by Extractor::Impl; immutable after construction, so every
// const member function is safe to call concurrently.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "leadpipe/extract/extractor.hpp"
#include "phrases.hpp"
#include "signals.hpp"
#include "text.hpp"

namespace leadpipe::extract {

struct NameHit {
  std::string value;   // title-cased
  double confidence = 0;
  bool slot = false;   // came from a bare reply to an awaited question
};

struct PhoneScan {
  std::vector<std::string> numbers;  // E.164, in order of appearance, de-duplicated
  std::vector<std::size_t> offsets;  // folded offset of each number
  std::string trailing_fragment;     // digits of an incomplete number at the very end ("0822-5147")
};

class Rules {
 public:
  explicit Rules(const TenantConfig& cfg);
  ~Rules();

  // Best name introduced in a user message, if any. `awaiting_name` lets a
  // bare reply ("dewi lestari") count and relaxes the weak patterns.
  std::optional<NameHit> find_name(const text::Folded& f, std::string_view original, bool awaiting_name) const;

  // Phone numbers in a message. `lenient` (a number was asked for) accepts
  // fixed lines written without their trunk prefix.
  void find_phones(const text::Folded& f, bool lenient, PhoneScan& out) const;
  // Joins a fragment remembered from the previous message with the digits
  // this message starts with ("-0683"); returns the E.164 number if valid.
  // A fragment that is still too short to be a number goes to *still_partial.
  std::optional<std::string> join_fragment(std::string_view fragment, const text::Folded& f,
                                           std::string* still_partial = nullptr) const;
  // "nama saya" / "my name is" with nothing after it: the name follows in the next message.
  bool ends_with_introduction(std::string_view folded) const;

  void find_emails(std::string_view folded, std::vector<std::string>& out) const;
  // "andika.putra@" at the end of a message: the local part, to join with the
  // domain the next message starts with ("gmail.com").
  std::string email_fragment(std::string_view folded) const;
  std::optional<std::string> join_email(std::string_view fragment, std::string_view folded) const;

  // Bit set of Slot values a bot/agent message asks for.
  unsigned asked_slots(std::string_view folded, bool has_phone, bool has_email) const;

  // Offset of the first correction word, or npos.
  std::size_t correction_at(std::string_view folded) const;

  // Intents and score signals of a user message (folded), appended if not
  // present yet. One RE2::Set scan covers both lists.
  void find_signals(std::string_view folded, std::string& scratch, std::vector<std::string>& intents,
                    std::vector<std::string>& signal_keys) const;

  // The tenant program mentioned last in the message, as configured.
  std::optional<std::string> find_program(std::string_view folded) const;
  bool has_programs() const { return programs_re_ != nullptr; }

  const Negator& negator() const { return negator_; }
  const SignalMatcher& signals() const { return signals_; }

 private:
  struct Word;
  std::optional<NameHit> parse_forward(const text::Folded& f, std::string_view o, std::size_t pos, double conf,
                                       int mode, bool cased) const;
  std::optional<NameHit> parse_backward(const text::Folded& f, std::string_view o, std::size_t pos, double conf,
                                        bool cased) const;
  std::optional<NameHit> parse_bare(const text::Folded& f, std::string_view o) const;
  bool clause_start(std::string_view f, std::size_t pos) const;
  std::optional<std::string> validate_phone(std::string_view raw, bool cue) const;
  std::optional<std::string> validate_phone_uncached(const std::string& digits, bool plus, bool cue) const;
  bool is_program_word(std::string_view folded_word) const;

  TenantConfig cfg_;
  std::string region_;
  std::string country_code_;   // "62"
  std::string trunk_prefix_;   // "0"

  RE2 name_triggers_;
  RE2 greeting_intro_;
  RE2 sign_off_;
  RE2 phone_candidate_;
  RE2 phone_cue_;
  RE2 phone_cue_suffix_;
  RE2 neg_cue_;
  RE2 price_before_;
  RE2 price_after_;
  RE2 other_party_;
  RE2 thousands_;
  RE2 date_like_;
  RE2 time_like_;
  RE2 fragment_start_;
  RE2 trailing_intro_;
  RE2 email_probe_;
  RE2 email_bracket_at_;
  RE2 email_bracket_dot_;
  RE2 email_spaced_at_;
  RE2 email_tail_;
  RE2 email_domain_only_;
  RE2 email_spaced_local_;
  RE2 email_underscore_;
  RE2 email_spaced_dot_;
  RE2 email_word_at_;
  RE2 email_local_dot_;
  RE2 email_chain_at_;
  RE2 email_word_dot_;
  RE2 email_;
  RE2 correction_;
  RE2 ask_signal_;
  RE2 ask_name_;
  RE2 self_reference_;
  RE2 hindi_copula_;
  RE2 atas_nama_other_;
  RE2 ask_name_general_;
  RE2 ask_name_other_;
  RE2 ask_phone_;
  RE2 ask_email_;
  RE2 ask_program_;
  RE2 opt_out_whole_;
  PhraseSet phrases_;  // keys "i<intent>" and "s<kind>:<phrase>"
  std::unique_ptr<RE2> programs_re_;
  std::vector<std::string> program_folded_;   // parallel to cfg_.programs
  std::vector<std::size_t> program_of_group_; // capture group k+1 → index into cfg_.programs
  std::vector<std::string> program_words_;    // folded words of all programs (not names)
  Negator negator_;
  SignalMatcher signals_;
};

}  // namespace leadpipe::extract
