// Word classes of the name rules (internal). All words are folded
// (lower-case ASCII, no diacritics). The sets are built once, immutable,
// and safe to read from any thread.
#pragma once

#include <string_view>

namespace leadpipe::extract::lexicon {

// Words that are never (part of) a person's name in a self-introduction:
// function words, common verbs/adjectives/nouns of chat in Indonesian,
// English, Portuguese and Hinglish ("mau", "interested", "de", "hoon").
bool is_stopword(std::string_view folded_word);
// Forms of address stripped around a name: kak, mas, mbak, bu, pak, Sr.,
// Sra., Mr., Mrs., ji, sir …
bool is_honorific(std::string_view folded_word);
// Lower-case name particles allowed between name words: da, de, dos, van, bin …
bool is_particle(std::string_view folded_word);
// Words that make a span an organisation, not a person: SMA, University,
// Escola, Klinik, PT …
bool is_org_word(std::string_view folded_word);
// Cities, regions and countries that follow "saya"/"sou"/"I'm" in traps.
bool is_place(std::string_view folded_word);
// Greetings and fillers that may precede a self-introduction at a clause
// start: "halo", "hi", "selamat", "pagi", "bom", "dia", "namaste" …
bool is_greeting(std::string_view folded_word);

}  // namespace leadpipe::extract::lexicon
