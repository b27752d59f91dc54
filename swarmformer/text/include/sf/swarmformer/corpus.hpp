// Unlabelled text for self-pretraining, and the pretraining corpus of a dataset.
//
// load_unlabeled_texts(path) reads text only (any labels are ignored):
//   a folder with the aclImdb layout      aclImdb/train/unsup/*.txt, in numeric id order
//   a folder holding unsup.jsonl[.gz]     the "text" field of each line
//   a folder holding aclImdb_v1.tar.gz    the archive's aclImdb/train/unsup/*.txt members
//   *.tar.gz, *.tgz, *.tar                the same members of that archive
//   *.jsonl[.gz], *.ndjson[.gz]           the "text" field of each line
//   *.txt[.gz]                            one text per line
// A folder without an unlabelled split gives no texts. Texts must be valid UTF-8 (an error names
// the file and line); empty ones are skipped.
//
// build_pretraining_corpus: the training split's texts (labels dropped), the dataset's unlabelled
// texts and any extra corpora, minus every text byte-identical to a text of the dataset's test
// split: the test split never enters pretraining, not even as a copy (IMDB's unsup/ holds 266).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sf {

std::vector<std::string> load_unlabeled_texts(const std::string& path);

struct PretrainingCorpus {
  std::vector<std::string> texts;
  nlohmann::json description;  // counts per source, the test copies removed
};

PretrainingCorpus build_pretraining_corpus(const std::string& data_path, const std::vector<std::string>& extra_corpora);

}  // namespace sf
