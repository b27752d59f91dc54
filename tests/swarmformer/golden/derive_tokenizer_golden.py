#!/usr/bin/env python3
"""Derives the expected token ids of tests/swarmformer/test_tokenizer.cpp.

An independent re-implementation of Hugging Face's slow BertTokenizer (bert-base-uncased:
do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None), written from its published
algorithm (PreTrainedTokenizer.tokenize, BasicTokenizer, WordpieceTokenizer). It shares no code
with the C++ tokenizer: character classes come from Python's `unicodedata`, lower-casing from
`str.lower`, NFD from `unicodedata.normalize`.

Usage:
  derive_tokenizer_golden.py VOCAB > tokenizer_golden.inc      # the C++ table of golden cases
  derive_tokenizer_golden.py VOCAB --texts FILE [--seq-len L]  # ids per line (like `swarmformer
                                                               # tokenize`), for corpus-wide checks
"""
import argparse
import sys
import unicodedata

SPECIAL_TOKENS = ["[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"]
MAX_WORD_CHARACTERS = 100


def load_vocab(path):
    # load_vocab: one token per line, id = line number, rstrip("\n"); later duplicates win.
    vocab = {}
    with open(path, encoding="utf-8", newline="\n") as stream:
        for index, line in enumerate(stream):
            vocab[line.rstrip("\n")] = index
    return vocab


def is_whitespace(char):
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char):
    # Hugging Face: every category starting with "C" (Cc, Cf, Co, Cn, Cs) except \t \n \r.
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def is_punctuation(char):
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_chinese_char(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def clean_text(text):
    output = []
    for char in text:
        cp = ord(char)
        if cp == 0 or cp == 0xFFFD or is_control(char):
            continue
        output.append(" " if is_whitespace(char) else char)
    return "".join(output)


def space_chinese_chars(text):
    return "".join(f" {char} " if is_chinese_char(ord(char)) else char for char in text)


def strip_accents(text):
    return "".join(char for char in unicodedata.normalize("NFD", text) if unicodedata.category(char) != "Mn")


def split_on_punctuation(text):
    words, start_new_word = [], True
    for char in text:
        if is_punctuation(char):
            words.append(char)
            start_new_word = True
        else:
            if start_new_word:
                words.append("")
            start_new_word = False
            words[-1] += char
    return words


def basic_tokenize(text):
    text = clean_text(text)
    text = space_chinese_chars(text)
    text = unicodedata.normalize("NFC", text)
    words = []
    for token in text.split():  # str.split(): also U+2028 / U+2029
        if token in SPECIAL_TOKENS:  # never_split
            words.append(token)
            continue
        token = strip_accents(token.lower())
        words.extend(split_on_punctuation(token))
    return " ".join(words).split()


def wordpiece(word, vocab):
    if len(word) > MAX_WORD_CHARACTERS:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end, piece = len(word), None
        while start < end:
            candidate = ("##" if start > 0 else "") + word[start:end]
            if candidate in vocab:
                piece = candidate
                break
            end -= 1
        if piece is None:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def split_special_tokens(text):
    """The added-token trie: special tokens anywhere in the text are cut out and kept whole."""
    pieces, position, start = [], 0, 0
    while position < len(text):
        match = next((token for token in SPECIAL_TOKENS if text.startswith(token, position)), None)
        if match:
            pieces.append(text[start:position])
            pieces.append(match)
            position += len(match)
            start = position
        else:
            position += 1
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def lower_outside_special_tokens(text):
    """PreTrainedTokenizer.tokenize's re.sub(r"(special|…)|(.+?)", …): lower-cases one character at a
    time (so no Final_Sigma context: "Σ" always becomes "σ"), special tokens untouched."""
    output, position = [], 0
    while position < len(text):
        match = next((token for token in SPECIAL_TOKENS if text.startswith(token, position)), None)
        if match:
            output.append(match)
            position += len(match)
        else:
            char = text[position]
            output.append(char if char == "\n" else char.lower())  # "." does not match "\n"
            position += 1
    return "".join(output)


def tokenize(text, vocab):
    tokens = []
    for piece in split_special_tokens(lower_outside_special_tokens(text)):
        if piece in SPECIAL_TOKENS:
            tokens.append(piece)
            continue
        for word in basic_tokenize(piece):
            tokens.extend([word] if word in SPECIAL_TOKENS else wordpiece(word, vocab))
    return tokens


def encode(text, vocab, seq_len=None):
    ids = [vocab[token] for token in tokenize(text, vocab)]
    if seq_len is None:
        return [vocab["[CLS]"]] + ids + [vocab["[SEP]"]]
    ids = [vocab["[CLS]"]] + ids[: seq_len - 2] + [vocab["[SEP]"]]
    return ids + [vocab["[PAD]"]] * (seq_len - len(ids))


# (name, text, seq_len or None, the rule the case exercises)
CASES = [
    ("empty", "", None, "no words: [CLS] [SEP]"),
    ("only_spaces", "     ", None, "whitespace only: no words"),
    ("only_mixed_whitespace", " \t\n\r \u00a0\u3000 ", None, "\\t \\n \\r, Zs (NBSP, ideographic space) are whitespace"),
    ("hello_world", "Hello, world!", None, "lower-case; ',' and '!' split off"),
    ("sentence_upper", "This movie was GREAT.", None, "lower-case ASCII"),
    ("br_tags", "<br /><br />", None, "'<', '/', '>' are ASCII punctuation: each a word"),
    ("review_with_br", "I loved it.<br /><br />The end.", None, "IMDB line breaks"),
    ("punctuation_run", "Wow!!!...???", None, "every punctuation character is its own word"),
    ("symbol_runs", "--- *** ### $$$ ^^^ ``` |||", None, "$ ^ ` | are Unicode symbols, BERT punctuation"),
    ("apostrophes", "don't can't it's o'clock", None, "ASCII apostrophe splits words"),
    ("right_single_quote", "don\u2019t", None, "U+2019 is Pf: punctuation"),
    ("acute_accent_apostrophe", "don\u00b4t", None, "U+00B4 is Sk (not punctuation) and NFD keeps it: one word"),
    ("diaeresis_symbol", "na\u00a8ive", None, "U+00A8 is Sk: kept inside the word"),
    ("numbers", "1984 3.14 1,000,000 $5.99 10%", None, "digits are word characters; '.', ',', '$', '%' split"),
    ("ordinals", "2nd 21st 100th 3D 4K mp3", None, "digits and letters in one word"),
    ("accents_lower", "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber", None, "NFD then drop Mn: accents removed"),
    ("accents_upper", "\u00c9COLE \u00c0\u00d6\u00dc", None, "lower-case, then strip accents"),
    ("combining_acute", "Cafe\u0301", None, "a decomposed accent (Mn) is dropped"),
    ("lone_combining_mark", "a \u0301 b", None, "a token of only Mn marks vanishes"),
    ("angstrom", "\u00c5ngstr\u00f6m \u212b", None, "U+212B ANGSTROM SIGN: lower -> U+00E5 -> a"),
    ("sharp_s", "Stra\u00dfe", None, "U+00DF has no NFD decomposition: stays"),
    ("dotted_capital_i", "\u0130stanbul", None, "U+0130 lowers to i + U+0307; the Mn is dropped: i"),
    ("greek_sigma", "\u039f\u0394\u039f\u03a3 \u03a3\u03bf\u03c6\u03af\u03b1", None, "per-character lowering: final \u03a3 -> \u03c3, not \u03c2"),
    ("greek_final_sigma_lower", "\u03bf\u03b4\u03bf\u03c2", None, "an already-final \u03c2 stays \u03c2"),
    ("cyrillic", "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440", None, "Cyrillic lower-cased"),
    ("cyrillic_short_i", "\u0419", None, "\u0419 lower -> \u0439, NFD -> \u0438 + U+0306 (Mn) -> \u0438"),
    ("cjk_run", "\u6211\u7231\u7535\u5f71", None, "each CJK ideograph is a word"),
    ("cjk_mixed", "Hello\u4e16\u754c!", None, "spaces inserted around ideographs"),
    ("cjk_compatibility", "\uf900\uf901", None, "U+F900 block is in BERT's ranges; NFD maps to unified ideographs"),
    ("cjk_extension_b", "\U00020000x", None, "U+20000 (extension B) is in BERT's ranges"),
    ("cjk_punctuation", "\u300c\u4f60\u597d\u300d\u3002", None, "CJK brackets (Ps/Pe) and full stop (Po) are punctuation"),
    ("hiragana", "\u3053\u3093\u306b\u3061\u306f", None, "kana are not in the CJK ranges: one word, WordPiece"),
    ("katakana_voiced", "\u30ac\u30f3\u30c0\u30e0", None, "NFD splits voiced kana; U+3099 is Mn: dropped"),
    ("hangul", "\uc548\ub155\ud558\uc138\uc694", None, "NFD decomposes Hangul syllables into jamo (Lo, kept)"),
    ("devanagari", "\u0939\u093f\u0928\u094d\u0926\u0940", None, "Mc vowel signs kept, Mn virama dropped"),
    ("arabic", "\u0645\u0631\u062d\u0628\u0627", None, "Arabic letters"),
    ("hebrew_niqqud", "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd", None, "Hebrew points are Mn: dropped"),
    ("thai", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35", None, "Thai Mn vowel marks dropped"),
    ("emoji", "I \u2764\ufe0f this \U0001f600\U0001f3ac", None, "U+FE0F is Mn (dropped); So emoji form words"),
    ("emoji_zwj", "\U0001f468\u200d\U0001f469\u200d\U0001f467", None, "U+200D ZWJ is Cf: removed, the emoji join into one word"),
    ("nel_inside_word", "end\u0085and", None, "U+0085 NEL is Cc: removed (not a space), the words merge"),
    ("nel_between_spaces", "end \u0085 and", None, "U+0085 removed, the spaces still separate"),
    ("nel_ellipsis_imdb", "Well\u0085 I guess\u0085", None, "IMDB's mis-decoded ellipsis"),
    ("c1_quotes", "\u0091quoted\u0092 it\u0092s", None, "U+0091/U+0092 are Cc: removed"),
    ("c1_en_dash", "1990\u00962000", None, "U+0096 is Cc: removed, digits merge"),
    ("c1_em_dash", "good\u0097bad \u0097 ugly", None, "U+0097 is Cc: removed"),
    ("other_c1_controls", "a\u0084b\u008ec\u009ed\u0095e", None, "all of C1 is Cc: removed"),
    ("nbsp", "a\u00a0b", None, "U+00A0 is Zs: a space"),
    ("line_paragraph_separators", "a\u2028b\u2029c", None, "Zl/Zp survive cleaning but str.split() splits on them"),
    ("zero_width_space", "foo\u200bbar", None, "U+200B is Cf: removed, not a space"),
    ("soft_hyphen", "co\u00adoperate", None, "U+00AD is Cf: removed"),
    ("byte_order_mark", "\ufeffHello", None, "U+FEFF is Cf: removed"),
    ("replacement_character", "bad\ufffdchar", None, "U+FFFD removed explicitly"),
    ("nul", "a\u0000b", None, "U+0000 removed: the words merge"),
    ("tabs_newlines", "line1\nline2\tcol\r\nend", None, "\\t \\n \\r are whitespace"),
    ("vertical_tab_form_feed", "a\u000bb\u000cc\u001fd", None, "\\v \\f \\x1f are Cc: removed, not spaces"),
    ("private_use", "x\ue000y \uf0b7 z", None, "Co (private use, IMDB has U+F0B7) is removed"),
    ("unassigned", "ab\u0378cd", None, "Cn (unassigned) is removed"),
    ("tag_character", "a\U000e0001b", None, "U+E0001 language tag is Cf: removed"),
    ("long_word_101", "a" * 101, None, "over 100 characters: [UNK]"),
    ("long_word_100", "ab" * 50, None, "exactly 100 characters: WordPiece runs"),
    ("long_word_accents", "\u00e9" * 100, None, "length counted after accent stripping: 100 e's"),
    ("long_word_in_sentence", "short " + "x" * 120 + " end", None, "only the long word is [UNK]"),
    ("url", "http://www.imdb.com/title/tt0453418/", None, "URL pieces split on ':', '/', '.'"),
    ("email", "someone@example.com", None, "'@' and '.' split"),
    ("hash_signs", "#1 ##s", None, "'#' is punctuation, so '##' never reaches WordPiece"),
    ("special_tokens_literal", "[CLS] hello [SEP]", None, "special tokens written in text are kept whole"),
    ("special_token_glued", "foo[SEP]bar[MASK][UNK]", None, "the trie cuts special tokens out anywhere"),
    ("special_token_lowercase", "[cls] [Sep]", None, "matching is case-sensitive: otherwise plain punctuation"),
    ("special_token_partial", "[[PAD]] [CLS", None, "an unmatched '[' is punctuation"),
    ("unused_token_literal", "[unused0]", None, "[unused0] is not special: '[', WordPiece, ']'"),
    ("many_pieces", "unaffable supercalifragilisticexpialidocious", None, "greedy longest-match-first ## pieces"),
    ("antidisestablishmentarianism", "Antidisestablishmentarianism", None, "many ## pieces"),
    ("no_segmentation", "hello\u2603 \u2603", None, "U+2603 has no piece: the whole word is [UNK]"),
    ("currency", "\u00a310 \u20ac20 \u00a530", None, "Sc currency signs are not punctuation"),
    ("vulgar_fraction", "\u00bd cup", None, "U+00BD (No) has only a compatibility decomposition: kept"),
    ("ellipsis_dash", "wait\u2026what yes\u2014no", None, "U+2026 (Po), U+2014 (Pd) split"),
    ("guillemets_quotes", "\u00abquoted\u00bb \u201cdouble\u201d", None, "Pi/Pf quotes split"),
    ("fullwidth_latin", "\uff21\uff22\uff23", None, "fullwidth letters lower-case but are not folded (no NFKD)"),
    ("ligature", "\ufb01ne", None, "U+FB01 has only a compatibility decomposition: kept"),
    ("mixed_case", "McDONALD's iPhone", None, "lower-case before WordPiece"),
    ("roman_numeral", "\u216b", None, "U+216B (Nl) lower-cases to U+217B"),
    ("superscripts", "x\u00b2 + y\u00b2", None, "U+00B2 (No) kept; '+' splits"),
    ("circled_letter", "\u24b6", None, "U+24B6 (So) lower-cases to U+24D0"),
    ("html_entities", "&amp; &quot;hi&quot;", None, "'&' and ';' split"),
    ("repeated_spaces", "  a    b  ", None, "runs and edges of whitespace"),
    ("imdb_like", "Bromwell High is a cartoon comedy. It ran at the same time as some other programs about school life, such as \"Teachers\".", None, "a real review's first sentence"),
    ("truncate_8", "the quick brown fox jumps over the lazy dog again and again", 8, "[CLS] + first 6 + [SEP]"),
    ("truncate_2", "anything at all", 2, "seq_len 2: [CLS] [SEP]"),
    ("truncate_3", "anything at all", 3, "seq_len 3: one piece"),
    ("pad_16", "Short text.", 16, "padded with [PAD] = 0"),
    ("truncate_inside_word", "unaffable unaffable", 4, "truncation may cut a word between ## pieces"),
    ("exact_fit", "one two three", 5, "3 pieces + [CLS] + [SEP] = 5: no padding"),
    ("empty_padded", "", 6, "empty text padded"),
    ("special_token_truncated", "a [SEP] b c d", 5, "a literal [SEP] counts as a piece"),
]


def cpp_string(text):
    """A C++ string literal of the UTF-8 bytes; octal escapes never swallow a following digit."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\?':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append("\\%03o" % byte)
    return '"' + "".join(out) + '"'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vocab")
    parser.add_argument("--texts", help="tokenize each line of this file instead of printing the golden table")
    parser.add_argument("--seq-len", type=int, default=None)
    arguments = parser.parse_args()
    vocab = load_vocab(arguments.vocab)

    if arguments.texts:
        with open(arguments.texts, encoding="utf-8", newline="\n") as stream:
            for line in stream:
                ids = encode(line.rstrip("\n"), vocab, arguments.seq_len)
                sys.stdout.write(" ".join(map(str, ids)) + "\n")
        return

    print("// Generated by tests/swarmformer/golden/derive_tokenizer_golden.py from bert-base-uncased-vocab.txt;")
    print("// do not edit: rerun the script (see swarmformer/README.md, \"Tokenizer\").")
    print("// {name, text (UTF-8, a string_view literal), seq_len (0: unpadded), expected ids, expected WordPiece tokens}")
    for name, text, seq_len, rule in CASES:
        ids = encode(text, vocab, seq_len)
        tokens = tokenize(text, vocab)
        print(f"// {name}: {rule}")
        token_list = ", ".join(cpp_string(token) for token in tokens)
        # "…"sv keeps embedded NULs (the "nul" case) that a const char* would cut off.
        print(f"{{{cpp_string(name)}, {cpp_string(text)}sv, {seq_len or 0},")
        print(f"  {{{', '.join(map(str, ids))}}},")
        print(f"  {{{token_list}}}}},")


if __name__ == "__main__":
    main()
