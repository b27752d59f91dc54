// WordNet synonyms, read from the Princeton WordNet 3.0 database files (Debian's wordnet-base:
// /usr/share/wordnet/data.{noun,verb,adj,adv} and {noun,verb,adj,adv}.exc) by our own parser.
//
// synonyms(word) follows what NLTK's reference augmentation does with
// `wordnet.synsets(word)` and `lemma.name()`:
//   1. the word is lower-cased and reduced to its base forms per part of speech ("morphy"):
//      the exception list first (geese -> goose); otherwise the word itself and every detachment
//      rule that gives a lemma of that part of speech
//        noun  -s  -ses→s  -ves→f  -xes→x  -zes→z  -ches→ch  -shes→sh  -men→man  -ies→y
//        verb  -s  -ies→y  -es→e  -es  -ed→e  -ed  -ing→e  -ing
//        adj   -er  -est  -er→e  -est→e          adv  (none)
//   2. every synset holding a base form contributes all its lemma names;
//   3. names equal to the word as written (case-sensitive) are dropped, duplicates are kept, so a
//      name shared by several senses is proportionally more likely to be drawn.
// Multi-word lemmas come back with spaces ("look_at" -> "look at").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sf {

class WordNet {
 public:
  // Reads the database in `directory`; throws sf::Error naming the missing or malformed file.
  static WordNet load(const std::string& directory);

  std::vector<std::string> synonyms(std::string_view word) const;
  // Synsets and distinct lemmas read (for reports and tests).
  std::size_t synset_count() const;
  std::size_t lemma_count() const;

  WordNet(WordNet&&) noexcept;
  WordNet& operator=(WordNet&&) noexcept;
  ~WordNet();

  struct Tables;

 private:
  explicit WordNet(std::unique_ptr<Tables> tables);
  std::unique_ptr<Tables> tables_;
};

}  // namespace sf
