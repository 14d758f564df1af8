#include "api/filter/parser.h"

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/filter/filter.h"
#include "api/filter/literals.h"
#include "api/filter/pattern.h"

namespace cairn::filter {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Text from the expression shown in an error: quoted, at most `limit` bytes,
// with quotes, backslashes and non-printable bytes escaped so that the message
// stays one printable line.
std::string excerpt(std::string_view s, std::size_t limit) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > limit) out += "...";
  out.push_back('"');
  return out;
}

std::string join_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& part : path) {
    if (!out.empty()) out.push_back('.');
    out += part;
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Result<std::unique_ptr<Expression>> run() {
    ws();
    Node root = parse_or();
    if (root && !hard_) {
      ws();
      if (pos_ == in_.size()) return root;
      expect(pos_, "end of input");
    }
    return failure();
  }

 private:
  using Node = std::unique_ptr<Expression>;

  // --- error bookkeeping -------------------------------------------------
  // Like a PEG parser, remember the farthest position any alternative
  // reached and what it would have accepted there; that is the error shown
  // when nothing parses. Hard errors (a bad literal, an unmatched
  // parenthesis) stop the parse at once.
  void expect(std::size_t pos, std::string label) {
    if (pos > far_) {
      far_ = pos;
      expected_.clear();
    }
    if (pos == far_) expected_.insert(std::move(label));
  }
  void hard(std::size_t pos, std::string message) {
    if (!hard_) hard_ = std::make_pair(pos, std::move(message));
  }

  std::string position(std::size_t offset) const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < offset && i < in_.size(); ++i) {
      const auto c = static_cast<unsigned char>(in_[i]);
      if (c == '\n') {
        ++line;
        col = 1;
      } else if ((c & 0xC0) != 0x80) {  // count code points, not bytes
        ++col;
      }
    }
    return std::to_string(line) + ":" + std::to_string(col) + " (" + std::to_string(offset) + ")";
  }

  Error failure() const {
    if (hard_) {
      return Error(errc::invalid_argument, position(hard_->first) + ": " + hard_->second);
    }
    std::string list;
    std::size_t i = 0;
    for (const auto& label : expected_) {
      if (i > 0) list += (i + 1 == expected_.size()) ? " or " : ", ";
      list += label;
      ++i;
    }
    const std::string found =
        far_ >= in_.size() ? "end of input" : excerpt(in_.substr(far_), 16);
    return Error(errc::invalid_argument,
                 position(far_) + ": no match found, expected: " + list + ", found " + found);
  }

  // --- lexical helpers ---------------------------------------------------
  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return at_end() ? '\0' : in_[pos_]; }

  // `_`: one or more whitespace characters; returns whether it saw any.
  bool ws() {
    const std::size_t start = pos_;
    while (!at_end() && is_ws(in_[pos_])) ++pos_;
    return pos_ > start;
  }

  bool word(std::string_view w) {
    if (in_.substr(pos_, w.size()) == w) {
      pos_ += w.size();
      return true;
    }
    expect(pos_, quoted(w));
    return false;
  }

  // A keyword followed by whitespace (`"in" _`); consumes both or nothing.
  bool keyword(std::string_view kw) {
    if (in_.substr(pos_, kw.size()) != kw) {
      expect(pos_, quoted(kw));
      return false;
    }
    const std::size_t after = pos_ + kw.size();
    if (after >= in_.size() || !is_ws(in_[after])) {
      expect(after, "whitespace");
      return false;
    }
    pos_ = after;
    ws();
    return true;
  }

  // `_ "kw" _` between two terms.
  bool separator(std::string_view kw) {
    const std::size_t save = pos_;
    if (!ws()) {
      expect(pos_, "whitespace");
      return false;
    }
    if (!keyword(kw)) {
      pos_ = save;
      return false;
    }
    return true;
  }

  // --- grammar -----------------------------------------------------------
  static Node combine(Expression::Kind kind, std::vector<Node> terms) {
    if (terms.size() == 1) return std::move(terms.front());
    auto node = std::make_unique<Expression>();
    node->kind = kind;
    node->operands = std::move(terms);
    return node;
  }

  // OrExpression <- AndExpression (_ "or" _ AndExpression)*
  Node parse_or() { return parse_chain("or", Expression::Kind::any_of, &Parser::parse_and); }

  // AndExpression <- NotExpression (_ "and" _ NotExpression)*
  Node parse_and() { return parse_chain("and", Expression::Kind::all_of, &Parser::parse_not); }

  // Terms joined by one keyword become one n-ary node: long chains stay flat.
  Node parse_chain(std::string_view keyword, Expression::Kind kind, Node (Parser::*term)()) {
    std::vector<Node> terms;
    do {
      Node next = (this->*term)();
      if (!next) return nullptr;
      terms.push_back(std::move(next));
    } while (separator(keyword));
    return combine(kind, std::move(terms));
  }

  // NotExpression <- "not" _ NotExpression / "(" _? OrExpression _? ")" / MatchExpression
  Node parse_not() {
    // Each `not` and each parenthesis is one level; refusing deep nesting
    // here bounds the recursion of the parser, the evaluator and the
    // destructor alike.
    if (++depth_ > kMaxNestingDepth) {
      hard(pos_, "expression nests deeper than " + std::to_string(kMaxNestingDepth) + " levels");
      return nullptr;
    }
    struct Leave {
      int& depth;
      ~Leave() { --depth; }
    } leave{depth_};

    const std::size_t start = pos_;
    if (keyword("not")) {
      Node inner = parse_not();
      if (inner) {
        if (inner->kind == Expression::Kind::negation) return std::move(inner->operands.front());
        auto node = std::make_unique<Expression>();
        node->kind = Expression::Kind::negation;
        node->operands.push_back(std::move(inner));
        return node;
      }
      if (hard_) return nullptr;
      pos_ = start;  // "not" may still be a field name: `not == 1`, as in bexpr's PEG
    }
    if (peek() == '(') return parse_group();
    expect(pos_, "\"(\"");
    return parse_match();
  }

  Node parse_group() {
    const std::size_t open = pos_;
    ++pos_;
    ws();
    Node inner = parse_or();
    if (!inner) return nullptr;
    ws();
    if (peek() == ')') {
      ++pos_;
      return inner;
    }
    if (at_end()) {
      hard(open, "Unmatched parentheses");
    } else {
      expect(pos_, "\")\"");
    }
    return nullptr;
  }

  // MatchExpression <- Selector Op Value / Selector ("is empty" / "is not empty")
  //                  / Value ("in" / "not in") Selector
  Node parse_match() {
    std::string value;
    if (is_alpha(peek())) {
      std::vector<std::string> selector;
      if (!parse_selector(&selector)) return nullptr;
      const std::size_t after = pos_;
      if (auto op = selector_op()) {
        Match m;
        m.selector = std::move(selector);
        m.op = *op;
        if (*op != MatchOp::is_empty && *op != MatchOp::is_not_empty) {
          const std::size_t value_pos = pos_;
          if (!parse_value(&m.value)) return nullptr;
          if (*op == MatchOp::matches || *op == MatchOp::not_matches) {
            auto compiled = compile_pattern(m.value);
            if (auto* why = std::get_if<std::string>(&compiled)) {
              hard(value_pos, "Failed to compile regular expression " + excerpt(m.value, 64) + ": " + *why);
              return nullptr;
            }
            m.regex = std::move(std::get<std::regex>(compiled));
          }
        }
        return leaf(std::move(m));
      }
      if (hard_) return nullptr;
      // Not followed by a selector operator: it was the value of `in`.
      pos_ = after;
      value = join_path(selector);
    } else if (peek() == '"' || peek() == '`' || peek() == '-' || is_digit(peek())) {
      if (!parse_value(&value)) return nullptr;
    } else {
      expect(pos_, "selector");
      expect(pos_, "value");
      return nullptr;
    }
    auto op = in_op();
    if (!op) return nullptr;
    Match m;
    m.op = *op;
    m.value = std::move(value);
    if (!is_alpha(peek())) {
      expect(pos_, "selector");
      return nullptr;
    }
    if (!parse_selector(&m.selector)) return nullptr;
    return leaf(std::move(m));
  }

  static Node leaf(Match m) {
    auto node = std::make_unique<Expression>();
    node->kind = Expression::Kind::match;
    node->match = std::move(m);
    return node;
  }

  // After a selector: "==" / "!=" (spaces optional), or, after whitespace,
  // contains / not contains / matches / not matches / is empty / is not empty.
  std::optional<MatchOp> selector_op() {
    const std::size_t start = pos_;
    const bool spaced = ws();
    for (auto [text, op] : {std::pair{"==", MatchOp::equal}, std::pair{"!=", MatchOp::not_equal}}) {
      if (in_.substr(pos_, 2) == text) {
        pos_ += 2;
        ws();
        return op;
      }
      expect(pos_, quoted(text));
    }
    if (!spaced) {
      expect(pos_, "whitespace");
      pos_ = start;
      return std::nullopt;
    }
    if (keyword("contains")) return MatchOp::in;
    if (keyword("matches")) return MatchOp::matches;
    const std::size_t before_keyword = pos_;
    if (keyword("is")) {
      if (word("empty")) return MatchOp::is_empty;
      if (keyword("not") && word("empty")) return MatchOp::is_not_empty;
    }
    pos_ = before_keyword;
    if (keyword("not")) {
      if (keyword("contains")) return MatchOp::not_in;
      if (keyword("matches")) return MatchOp::not_matches;
    }
    pos_ = start;  // `not in` is for Value not in Selector
    return std::nullopt;
  }

  // `_ "in" _` / `_ "not" _ "in" _`
  std::optional<MatchOp> in_op() {
    const std::size_t start = pos_;
    if (!ws()) {
      expect(pos_, "whitespace");
      return std::nullopt;
    }
    if (keyword("in")) return MatchOp::in;
    if (keyword("not") && keyword("in")) return MatchOp::not_in;
    pos_ = start;
    return std::nullopt;
  }

  // Selector <- Identifier ("." Identifier / "[" _? StringLiteral _? "]")*
  // Identifier <- [a-zA-Z] [a-zA-Z0-9_]*
  bool parse_selector(std::vector<std::string>* out) {
    auto identifier = [&] {
      const std::size_t start = pos_;
      ++pos_;  // the caller checked the first letter
      while (!at_end() && is_ident_char(in_[pos_])) ++pos_;
      out->emplace_back(in_.substr(start, pos_ - start));
    };
    identifier();
    while (!at_end()) {
      if (in_[pos_] == '.') {
        if (pos_ + 1 < in_.size() && is_alpha(in_[pos_ + 1])) {
          ++pos_;
          identifier();
          continue;
        }
        expect(pos_ + 1, "identifier");
        break;
      }
      if (in_[pos_] == '[') {
        ++pos_;
        ws();
        if (peek() != '"' && peek() != '`') {
          hard(pos_, "Invalid index: expected a quoted map key, found " +
                         (at_end() ? std::string("end of input") : excerpt(in_.substr(pos_), 16)));
          return false;
        }
        std::string key;
        if (auto err = scan_string_literal(in_, pos_, &key)) {
          hard(err->offset, err->message);
          return false;
        }
        ws();
        if (peek() != ']') {
          hard(pos_, "Unclosed index expression");
          return false;
        }
        ++pos_;
        out->push_back(std::move(key));
        continue;
      }
      break;
    }
    return true;
  }

  // Value <- Selector / NumberLiteral / StringLiteral; an unquoted selector
  // stands for its own text (bexpr: `Service == web`, `Passing == true`).
  bool parse_value(std::string* out) {
    const char c = peek();
    if (is_alpha(c)) {
      std::vector<std::string> selector;
      if (!parse_selector(&selector)) return false;
      *out = join_path(selector);
      return true;
    }
    if (c == '"' || c == '`') {
      if (auto err = scan_string_literal(in_, pos_, out)) {
        hard(err->offset, err->message);
        return false;
      }
      return true;
    }
    if (c == '-' || is_digit(c)) return parse_number(out);
    expect(pos_, "value");
    return false;
  }

  // NumberLiteral <- "-"? ("0" / [1-9][0-9]*) ("." [0-9]+)? followed by
  // whitespace, ")" or the end.
  bool parse_number(std::string* out) {
    const std::size_t start = pos_;
    std::size_t i = pos_;
    if (in_[i] == '-') ++i;
    if (i >= in_.size() || !is_digit(in_[i])) {
      expect(i, "number");
      return false;
    }
    if (in_[i] == '0') {
      ++i;
    } else {
      while (i < in_.size() && is_digit(in_[i])) ++i;
    }
    if (i + 1 < in_.size() && in_[i] == '.' && is_digit(in_[i + 1])) {
      i += 2;
      while (i < in_.size() && is_digit(in_[i])) ++i;
    }
    if (i < in_.size() && !is_ws(in_[i]) && in_[i] != ')') {
      std::size_t end = i;
      while (end < in_.size() && !is_ws(in_[end]) && in_[end] != ')') ++end;
      hard(start, "Invalid number literal " + excerpt(in_.substr(start, end - start), 32));
      return false;
    }
    *out = std::string(in_.substr(start, i - start));
    pos_ = i;
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::size_t far_ = 0;
  std::set<std::string> expected_;
  std::optional<std::pair<std::size_t, std::string>> hard_;
};

}  // namespace

Result<std::unique_ptr<Expression>> parse_expression(std::string_view text) {
  return Parser(text).run();
}

}  // namespace cairn::filter
