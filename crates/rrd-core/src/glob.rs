//! Graphite-style name patterns, as `/metrics/find` reads them, for
//! finding series and walking the tree of their names. No pgrx.
//!
//! A series name is a list of non-empty nodes separated by dots
//! (`dc1.rack04.web017.nginx.requests.5xx`). A pattern is a list of node
//! patterns separated by dots, and matches a name of exactly as many nodes
//! whose every node it matches; a node pattern never crosses a dot. Within
//! a node pattern:
//!
//! - `*` matches any run of characters, possibly empty;
//! - `?` matches exactly one character (a Unicode scalar value, as
//!   PostgreSQL counts characters in a UTF-8 database);
//! - `[...]` matches one character of a class: single characters and
//!   ranges such as `a-z0-9`; a leading `!` or `^` negates the class; a `]`
//!   right after the opening `[` (or `[!`, `[^`) and a `-` first or last are
//!   literal; `\` escapes the next character; every other character but
//!   the dot, `[`, `{`, `*` and `,` included, stands for itself;
//! - `{a,b,c}` matches any of its alternatives. An alternative is itself a
//!   node pattern (it may hold `*`, `?`, classes and nested alternatives,
//!   as Graphite allows) and may be empty: `web{,-canary}` matches `web`
//!   and `web-canary`;
//! - `\` makes the next character literal: `\*`, `\?`, `\[`, `\{`, `\}`,
//!   `\,`, `\\`;
//! - any other character but the dot (`]` outside a class, `,` outside
//!   alternatives, `!`, `^`, `-`, non-ASCII ones) stands for itself.
//!
//! Decisions where Graphite is silent or loose, each chosen so that a typo
//! gives an error rather than an empty answer:
//!
//! - An empty pattern and an empty node (`a..b`, `.a`, `a.`) are errors:
//!   no name has an empty node.
//! - A dot is always a node separator. A dot that could only be meant as a
//!   character of a node (escaped `\.`, inside `[...]`, inside `{...}`) is
//!   an error, since no node contains one; alternatives cannot span nodes.
//!   A class range that spans the dot (`[+-0]`) is fine and still never
//!   matches a dot.
//! - An unclosed `[` or `{`, a `}` that closes nothing, a `\` at the end
//!   and a range written backwards (`[z-a]`) are errors. Alternatives may
//!   nest at most [`MAX_NESTING`] deep.
//! - A pattern may be well-formed yet match no name, e.g. `a.{}` whose
//!   second node matches only the empty string; it is accepted and finds
//!   nothing.
//! - Graphite's finder drops backslashes and reads `[^...]` as a class of
//!   `^` and the rest; here `\` escapes and `^` negates, as in shells.
//!
//! Every error is [`RrdError::BadParameter`] and names the 1-based
//! character position of the offending part.

use std::str::FromStr;

use crate::error::{Result, RrdError};

/// Deepest nesting of `{...}` alternatives, to bound recursion on input
/// from SQL.
pub const MAX_NESTING: usize = 32;

/// A parsed name pattern (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    nodes: Vec<Node>,
    prefix: String,
    literal: bool,
}

/// One node pattern, with the program that matches it.
#[derive(Debug, Clone, PartialEq)]
struct Node {
    elems: Vec<Elem>,
    /// The node's text when it has no wildcard: compared directly.
    literal: Option<String>,
    /// The Thompson NFA of a node that has wildcards.
    program: Vec<Inst>,
}

/// An element of a node pattern.
#[derive(Debug, Clone, PartialEq)]
enum Elem {
    Char(char),
    /// `*`
    AnyRun,
    /// `?`
    AnyOne,
    Class(Class),
    /// `{...}` with two or more alternatives (one alternative is inlined).
    Alt(Vec<Vec<Elem>>),
}

/// A character class: sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

/// Longest pattern, in bytes: room for alternatives of thousands of
/// names (a dashboard's variable of every host) within a bounded memory.
pub const MAX_PATTERN_BYTES: usize = 1 << 20;

/// An instruction of a node's NFA. Simulating the NFA bounds matching by
/// the name's length times the pattern's size whatever the nesting of stars
/// and alternatives, where backtracking could take exponential time on a
/// hostile pattern.
#[derive(Debug, Clone, PartialEq)]
enum Inst {
    Char(char),
    Any,
    Class(Class),
    /// Continue at every one of these.
    Fork(Vec<usize>),
    Jump(usize),
    Match,
}

impl Pattern {
    /// Parses a pattern. Errors are [`RrdError::BadParameter`], naming the
    /// character position of the fault, and [`RrdError::Limit`] for a
    /// pattern longer than [`MAX_PATTERN_BYTES`] (compiling takes some
    /// hundred bytes a node).
    pub fn parse(text: &str) -> Result<Pattern> {
        if text.len() > MAX_PATTERN_BYTES {
            return Err(RrdError::Limit {
                msg: format!(
                    "pattern \"{}\" is {} bytes long, more than the limit of {MAX_PATTERN_BYTES}",
                    crate::error::shown(text),
                    text.len()
                ),
                hint: Some("Split the pattern, or list the names in an array."),
            });
        }
        let mut parser = Parser {
            text,
            chars: text.chars().collect(),
            pos: 0,
        };
        let nodes: Vec<Node> = parser
            .nodes()?
            .into_iter()
            .map(|elems| {
                let literal = literal_text(&elems);
                let program = if literal.is_some() {
                    Vec::new()
                } else {
                    let mut program = Vec::new();
                    compile(&elems, &mut program);
                    program.push(Inst::Match);
                    program
                };
                Node {
                    elems,
                    literal,
                    program,
                }
            })
            .collect();
        let (prefix, literal) = literal_prefix(&nodes);
        Ok(Pattern {
            nodes,
            prefix,
            literal,
        })
    }

    /// Number of nodes; a matching name has exactly as many.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the whole of `name` matches. For a valid name (non-empty
    /// nodes) this is exactly what [`Pattern::to_posix_regex`] gives with
    /// PostgreSQL's `~`.
    pub fn matches(&self, name: &str) -> bool {
        let mut parts = name.split('.');
        self.nodes
            .iter()
            .all(|node| parts.next().is_some_and(|part| node.matches(part)))
            && parts.next().is_none()
    }

    /// For the tree walk below a prefix pattern: when `name` has more nodes
    /// than the pattern and its leading nodes match it, the name's next node
    /// and whether that node is its last (the name is a leaf right below the
    /// prefix). A node can be both a leaf of one name and a branch of
    /// another (`a.b` and `a.b.c`). The names it answers for are those
    /// [`Pattern::to_posix_descendants_regex`] matches.
    pub fn child<'a>(&self, name: &'a str) -> Option<(&'a str, bool)> {
        let mut parts = name.split('.');
        for node in &self.nodes {
            if !parts.next().is_some_and(|part| node.matches(part)) {
                return None;
            }
        }
        let next = parts.next()?;
        Some((next, parts.next().is_none()))
    }

    /// The longest literal leading text of every name the pattern matches,
    /// escapes resolved: `dc1.rack04.*.nginx` gives `dc1.rack04.`,
    /// `dc1.rack0?` gives `dc1.rack0`, `*.x` gives the empty string. Every
    /// matching name starts with it, so the SQL layer can restrict an index
    /// range scan to it; every descendant of a literal pattern starts with
    /// it and a dot.
    pub fn literal_prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the pattern has no wildcard: it then matches exactly the
    /// name [`Pattern::literal_prefix`] (an equality lookup).
    pub fn is_literal(&self) -> bool {
        self.literal
    }

    /// An anchored PostgreSQL regular expression (ARE, for `~` without
    /// flags) that matches exactly the names [`Pattern::matches`] accepts.
    ///
    /// Literal characters are escaped: ASCII punctuation as `\c` (which an
    /// ARE reads as the character itself, inside brackets too), ASCII
    /// control characters as `\u00XX`; other characters, non-ASCII ones
    /// included, are written as they are. `*` becomes `[^.]*`, `?`
    /// becomes `[^.]`, a class becomes a bracket expression that never
    /// matches a dot, and alternatives become `(?:a|b)`.
    pub fn to_posix_regex(&self) -> String {
        let mut re = self.regex_nodes();
        re.push('$');
        re
    }

    /// An anchored PostgreSQL regular expression for the names below the
    /// pattern: more nodes than it, the leading ones matching it (the names
    /// for which [`Pattern::child`] answers). It leaves the end of the name
    /// open: `dc1.*` gives `^dc1\.[^.]*\.`.
    pub fn to_posix_descendants_regex(&self) -> String {
        let mut re = self.regex_nodes();
        re.push_str("\\.");
        re
    }

    fn regex_nodes(&self) -> String {
        let mut re = String::from("^");
        for (i, node) in self.nodes.iter().enumerate() {
            if i > 0 {
                re.push_str("\\.");
            }
            regex_seq(&node.elems, &mut re);
        }
        re
    }
}

impl FromStr for Pattern {
    type Err = RrdError;
    fn from_str(s: &str) -> Result<Self> {
        Pattern::parse(s)
    }
}

/// The node of `name` that follows its first `prefix_nodes` nodes, and
/// whether it is the name's last: `next_node(1, "a.b.c")` is
/// `Some(("b", false))`, `next_node(0, "a")` is `Some(("a", true))`. `None`
/// when the name has no more nodes. For the tree walk from the root, or
/// below a prefix already checked by its regular expression.
pub fn next_node(prefix_nodes: usize, name: &str) -> Option<(&str, bool)> {
    let mut parts = name.split('.');
    let node = parts.nth(prefix_nodes)?;
    Some((node, parts.next().is_none()))
}

impl Node {
    fn matches(&self, part: &str) -> bool {
        match &self.literal {
            Some(text) => text == part,
            None => run(&self.program, part),
        }
    }
}

/// Recursive-descent parser over the pattern's characters.
struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    /// Index of the next character (0-based; messages say `pos + 1`).
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, msg: String) -> RrdError {
        RrdError::param(format!("invalid name pattern \"{}\": {msg}", self.text))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// The node patterns of the whole text.
    fn nodes(&mut self) -> Result<Vec<Vec<Elem>>> {
        if self.chars.is_empty() {
            return Err(RrdError::param(
                "empty name pattern: expected dot-separated nodes such as \"dc1.*.nginx\"",
            ));
        }
        let mut nodes = Vec::new();
        loop {
            let start = self.pos;
            let elems = self.sequence(0, None)?;
            let empty = self.pos == start;
            // At depth 0 a sequence stops only at a dot or at the end.
            match self.bump() {
                Some(_dot) => {
                    if empty {
                        return Err(self.error(format!(
                            "empty node before the dot at character {} (names have no empty nodes)",
                            self.pos
                        )));
                    }
                    nodes.push(elems);
                }
                None => {
                    if empty {
                        return Err(self.error(format!(
                            "empty node after the dot at character {} (names have no empty nodes)",
                            self.pos
                        )));
                    }
                    nodes.push(elems);
                    return Ok(nodes);
                }
            }
        }
    }

    /// Elements up to the end of a node (depth 0) or of an alternative
    /// (inside the `{` at index `open`, nesting `depth`).
    fn sequence(&mut self, depth: usize, open: Option<usize>) -> Result<Vec<Elem>> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            let at = self.pos + 1;
            match c {
                '.' => match open {
                    None => break,
                    Some(open) => {
                        return Err(self.error(format!(
                            "dot at character {at} inside the alternatives opened at character {}: \
                             alternatives cannot span nodes",
                            open + 1
                        )))
                    }
                },
                ',' if open.is_some() => break,
                '}' => {
                    if open.is_some() {
                        break;
                    }
                    return Err(self.error(format!(
                        "\"}}\" at character {at} closes no \"{{\" (write \\}} for a literal one)"
                    )));
                }
                '*' => {
                    self.pos += 1;
                    push(&mut seq, Elem::AnyRun);
                }
                '?' => {
                    self.pos += 1;
                    push(&mut seq, Elem::AnyOne);
                }
                '[' => {
                    let class = self.class()?;
                    push(&mut seq, Elem::Class(class));
                }
                '{' => {
                    if depth >= MAX_NESTING {
                        return Err(self.error(format!(
                            "alternatives at character {at} nest deeper than {MAX_NESTING} levels"
                        )));
                    }
                    let open_at = self.pos;
                    self.pos += 1;
                    let mut branches = Vec::new();
                    loop {
                        branches.push(self.sequence(depth + 1, Some(open_at))?);
                        match self.bump() {
                            Some(',') => {}
                            Some(_close) => break,
                            None => {
                                return Err(self.error(format!(
                                    "\"{{\" at character {at} is not closed by \"}}\""
                                )))
                            }
                        }
                    }
                    push(&mut seq, Elem::Alt(branches));
                }
                '\\' => {
                    self.pos += 1;
                    let c = self.escaped(at)?;
                    push(&mut seq, Elem::Char(c));
                }
                c => {
                    self.pos += 1;
                    push(&mut seq, Elem::Char(c));
                }
            }
        }
        Ok(seq)
    }

    /// The character after a `\` at character `at` (already consumed).
    fn escaped(&mut self, at: usize) -> Result<char> {
        match self.bump() {
            None => Err(self.error(format!(
                "\"\\\" at character {at} escapes nothing (write \\\\ for a literal backslash)"
            ))),
            Some('.') => Err(self.error(format!(
                "escaped dot at character {} can never match: a dot always separates nodes",
                self.pos
            ))),
            Some(c) => Ok(c),
        }
    }

    /// A `[...]` class; `pos` is at the `[`.
    fn class(&mut self) -> Result<Class> {
        let open = self.pos + 1;
        self.pos += 1;
        let negated = matches!(self.peek(), Some('!' | '^'));
        if negated {
            self.pos += 1;
        }
        let unclosed =
            |p: &Self| p.error(format!("\"[\" at character {open} is not closed by \"]\""));
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let lo_at = self.pos + 1;
            let lo = match self.bump() {
                None => return Err(unclosed(self)),
                Some(']') if !first => break,
                Some('\\') => self.bump().ok_or_else(|| unclosed(self))?,
                Some(c) => c,
            };
            first = false;
            self.refuse_dot(lo, open)?;
            let is_range =
                self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|&c| c != ']');
            let hi = if is_range {
                self.pos += 1;
                let hi = match self.bump() {
                    Some('\\') => self.bump().ok_or_else(|| unclosed(self))?,
                    Some(c) => c,
                    None => return Err(unclosed(self)),
                };
                self.refuse_dot(hi, open)?;
                if hi < lo {
                    return Err(self.error(format!(
                        "range \"{lo}-{hi}\" at character {lo_at} is out of order"
                    )));
                }
                hi
            } else {
                lo
            };
            ranges.push((lo, hi));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(char, char)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Ok(Class {
            negated,
            ranges: merged,
        })
    }

    /// A dot as a class member (just read) is refused.
    fn refuse_dot(&self, c: char, open: usize) -> Result<()> {
        if c == '.' {
            return Err(self.error(format!(
                "dot at character {} inside the class opened at character {open} can never \
                 match: a dot always separates nodes",
                self.pos
            )));
        }
        Ok(())
    }
}

/// Appends `e`, inlining a single alternative (so that `{abc}` counts as
/// literal text), dropping alternatives that are all empty (`{,}`) and
/// merging runs of stars. Inner sequences were built by `push` too, so a
/// branch that matches only the empty string is an empty one.
fn push(seq: &mut Vec<Elem>, e: Elem) {
    match e {
        Elem::AnyRun if seq.last() == Some(&Elem::AnyRun) => {}
        Elem::Alt(branches) if branches.iter().all(Vec::is_empty) => {}
        Elem::Alt(mut branches) if branches.len() == 1 => {
            for inner in branches.pop().into_iter().flatten() {
                push(seq, inner);
            }
        }
        e => seq.push(e),
    }
}

fn literal_text(elems: &[Elem]) -> Option<String> {
    elems
        .iter()
        .map(|e| match e {
            Elem::Char(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// The literal leading text of the pattern and whether it is all of it.
fn literal_prefix(nodes: &[Node]) -> (String, bool) {
    let mut prefix = String::new();
    for (i, node) in nodes.iter().enumerate() {
        if i > 0 {
            prefix.push('.');
        }
        for e in &node.elems {
            match e {
                Elem::Char(c) => prefix.push(*c),
                _ => return (prefix, false),
            }
        }
    }
    (prefix, true)
}

fn compile(elems: &[Elem], program: &mut Vec<Inst>) {
    for e in elems {
        match e {
            Elem::Char(c) => program.push(Inst::Char(*c)),
            Elem::AnyOne => program.push(Inst::Any),
            Elem::Class(class) => program.push(Inst::Class(class.clone())),
            Elem::AnyRun => {
                let at = program.len();
                program.push(Inst::Fork(vec![at + 1, at + 3]));
                program.push(Inst::Any);
                program.push(Inst::Jump(at));
            }
            Elem::Alt(branches) => {
                let fork = program.len();
                program.push(Inst::Fork(Vec::new()));
                let mut starts = Vec::with_capacity(branches.len());
                let mut jumps = Vec::with_capacity(branches.len());
                for branch in branches {
                    starts.push(program.len());
                    compile(branch, program);
                    jumps.push(program.len());
                    program.push(Inst::Jump(0));
                }
                let end = program.len();
                program[fork] = Inst::Fork(starts);
                for j in jumps {
                    program[j] = Inst::Jump(end);
                }
            }
        }
    }
}

/// Simulates the NFA over `text` with a set of states per position.
fn run(program: &[Inst], text: &str) -> bool {
    let mut seen = vec![usize::MAX; program.len()];
    let mut current = Vec::with_capacity(program.len());
    let mut next = Vec::with_capacity(program.len());
    let mut stack = Vec::new();
    add_state(program, 0, 0, &mut seen, &mut current, &mut stack);
    for (i, c) in text.chars().enumerate() {
        if current.is_empty() {
            return false;
        }
        next.clear();
        for &pc in &current {
            let step = match &program[pc] {
                Inst::Char(want) => *want == c,
                Inst::Any => true,
                Inst::Class(class) => class.contains(c),
                _ => false,
            };
            if step {
                add_state(program, pc + 1, i + 1, &mut seen, &mut next, &mut stack);
            }
        }
        std::mem::swap(&mut current, &mut next);
    }
    current.iter().any(|&pc| program[pc] == Inst::Match)
}

/// Adds `pc` and every state reachable from it without reading a character;
/// `seen` marks the states already in the set of `generation`.
fn add_state(
    program: &[Inst],
    pc: usize,
    generation: usize,
    seen: &mut [usize],
    set: &mut Vec<usize>,
    stack: &mut Vec<usize>,
) {
    stack.push(pc);
    while let Some(pc) = stack.pop() {
        if seen[pc] == generation {
            continue;
        }
        seen[pc] = generation;
        match &program[pc] {
            Inst::Fork(targets) => stack.extend(targets.iter().rev()),
            Inst::Jump(target) => stack.push(*target),
            _ => set.push(pc),
        }
    }
}

fn regex_seq(elems: &[Elem], re: &mut String) {
    for e in elems {
        match e {
            Elem::Char(c) => regex_char(*c, re),
            Elem::AnyRun => re.push_str("[^.]*"),
            Elem::AnyOne => re.push_str("[^.]"),
            Elem::Class(class) => regex_class(class, re),
            Elem::Alt(branches) => {
                let filled: Vec<&Vec<Elem>> = branches.iter().filter(|b| !b.is_empty()).collect();
                if filled.is_empty() {
                    continue;
                }
                re.push_str("(?:");
                for (i, branch) in filled.iter().enumerate() {
                    if i > 0 {
                        re.push('|');
                    }
                    regex_seq(branch, re);
                }
                re.push(')');
                // An empty alternative becomes `?` rather than an empty
                // branch, which POSIX leaves undefined.
                if filled.len() < branches.len() {
                    re.push('?');
                }
            }
        }
    }
}

/// One literal character, inside or outside a bracket expression: an ARE
/// reads `\` and a non-alphanumeric character as that character in both
/// (`-` is escaped too: inside brackets it would make a range).
fn regex_char(c: char, re: &mut String) {
    if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() {
        re.push(c);
    } else if c.is_ascii_control() {
        re.push_str(&format!("\\u{:04X}", u32::from(c)));
    } else {
        re.push('\\');
        re.push(c);
    }
}

fn regex_class(class: &Class, re: &mut String) {
    re.push('[');
    let put = |lo: char, hi: char, re: &mut String| {
        regex_char(lo, re);
        if hi != lo {
            re.push('-');
            regex_char(hi, re);
        }
    };
    if class.negated {
        re.push_str("^.");
        for &(lo, hi) in &class.ranges {
            put(lo, hi, re);
        }
    } else {
        // Split a range around the dot: the class must never match one.
        // Parsing refuses a dot as an end, so both sides are non-empty.
        for &(lo, hi) in &class.ranges {
            if lo < '.' && '.' < hi {
                put(lo, '-', re);
                put('/', hi, re);
            } else {
                put(lo, hi, re);
            }
        }
    }
    re.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrng::Lcg;

    fn pat(text: &str) -> Pattern {
        Pattern::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match Pattern::parse(text) {
            Err(RrdError::BadParameter { msg }) => msg,
            other => panic!("{text}: expected a parameter error, got {other:?}"),
        }
    }

    /// Checks `matches` on each name, and that the regular expression
    /// agrees (through the strict ARE reader below).
    fn check(text: &str, yes: &[&str], no: &[&str]) {
        let p = pat(text);
        let re = Are::parse(&p.to_posix_regex());
        for name in yes {
            assert!(p.matches(name), "{text} should match {name}");
            assert!(
                re.full_match(name),
                "{} should match {name}",
                p.to_posix_regex()
            );
            assert!(name.starts_with(p.literal_prefix()), "{text}: {name}");
        }
        for name in no {
            assert!(!p.matches(name), "{text} should not match {name}");
            assert!(
                !re.full_match(name),
                "{} should not match {name}",
                p.to_posix_regex()
            );
        }
    }

    #[test]
    fn a_pattern_past_the_limit_is_refused_before_it_is_compiled() {
        let long = "a.".repeat(MAX_PATTERN_BYTES / 2) + "x";
        match Pattern::parse(&long) {
            Err(RrdError::Limit { msg, .. }) => assert!(msg.contains("bytes long"), "{msg}"),
            other => panic!("{other:?}"),
        }
        let within = "a.".repeat(1000) + "x";
        assert!(Pattern::parse(&within).is_ok());
    }

    #[test]
    fn literal_patterns() {
        check(
            "dc1.rack04.web017.nginx.requests.5xx",
            &["dc1.rack04.web017.nginx.requests.5xx"],
            &[
                "dc1.rack04.web017.nginx.requests",
                "dc1.rack04.web017.nginx.requests.5xx.x",
                "dc1.rack04.web017.nginx.requests.5xX",
                "dc1xrack04.web017.nginx.requests.5xx",
            ],
        );
        check("a", &["a"], &["b", "a.a", "aa", ""]);
        let p = pat("a.b");
        assert!(p.is_literal());
        assert_eq!(p.node_count(), 2);
        assert_eq!(p.literal_prefix(), "a.b");
        assert_eq!("a.b".parse::<Pattern>(), Ok(p));
    }

    #[test]
    fn wildcards_never_cross_a_dot() {
        check("*", &["a", "abc", "*"], &["a.b", ".a"]);
        check("a*", &["a", "ab", "a*b"], &["a.b", "ba"]);
        check("*.b", &["a.b", "xyz.b"], &["a.c.b", "b", "a.b.c"]);
        check("a.*", &["a.b", "a.xyz"], &["a.b.c", "a", "b.c"]);
        check("*.*", &["a.b"], &["a", "a.b.c"]);
        check("a?c", &["abc", "a?c", "a-c"], &["a.c", "ac", "abbc"]);
        check("??", &["ab", "日本"], &["a", "abc", "a.", "日"]);
        check("*a*a*", &["aa", "xaxax", "aaa"], &["a", "xa.ax"]);
        check("**x", &["x", "yyx"], &["y.x"]);
        check(
            "dc1.rack0?.*.nginx.requests.[45]xx",
            &[
                "dc1.rack04.web017.nginx.requests.5xx",
                "dc1.rack09.db.nginx.requests.4xx",
            ],
            &[
                "dc1.rack04.web017.nginx.requests.3xx",
                "dc1.rack10.web017.nginx.requests.5xx",
                "dc1.rack04.web017.x.nginx.requests.5xx",
            ],
        );
    }

    #[test]
    fn escapes() {
        check(r"a\*b", &["a*b"], &["axb", "ab"]);
        check(r"a\?", &["a?"], &["ab"]);
        check(r"\\", &["\\"], &["\\\\", "a"]);
        check(r"\[ab]", &["[ab]"], &["a", "b"]);
        check(r"\{a,b\}", &["{a,b}"], &["a", "b"]);
        check(r"{a\,b,c}", &["a,b", "c"], &["a", "b"]);
        check(r"{a\},b}", &["a}", "b"], &["a"]);
        check(r"\a\b", &["ab"], &["\\a\\b"]);
        check(r"x\]", &["x]"], &["x"]);
        assert!(pat(r"a\*b.c").is_literal());
        assert_eq!(pat(r"a\*b.c").literal_prefix(), "a*b.c");
    }

    #[test]
    fn plain_specials_outside_their_context() {
        // `]`, `,`, `!`, `^`, `-` are ordinary outside classes and braces.
        check("a],b!^-", &["a],b!^-"], &["a"]);
        check("a,b", &["a,b"], &["a", "b"]);
        assert!(pat("a],b!^-").is_literal());
    }

    #[test]
    fn classes() {
        check("[abc]", &["a", "b", "c"], &["d", "ab", ""]);
        check("[a-c0-9]x", &["ax", "5x", "cx"], &["dx", "-x", "x"]);
        check("[!a-c]", &["d", "-", "日"], &["a", "b", "c", "dd"]);
        check("[^a-c]", &["d", "^"], &["a", "c"]);
        check("[]a]", &["]", "a"], &["b"]);
        check("[!]a]", &["b"], &["]", "a"]);
        check("[a-]", &["a", "-"], &["b"]);
        check("[-a]", &["a", "-"], &["b"]);
        check(r"[\]\-\\]", &["]", "-", "\\"], &["a"]);
        check("[[{*?,]", &["[", "{", "*", "?", ","], &["a"]);
        check("[a!^]", &["a", "!", "^"], &["b"]);
        // A range may span the dot; the class still never matches one.
        check("[+-0]", &["+", ",", "-", "/", "0"], &["1", "*", "a.b"]);
        check("x.[+-0]", &["x.,"], &["x..", "x", "x.."]);
        check("[!a]", &["b"], &["a", "."]);
        // Non-ASCII ranges, by code point.
        check("[α-ω]", &["α", "λ", "ω"], &["a", "Ω"]);
        check("[!α-ω]", &["a", "Ω"], &["λ"]);
        // Overlapping and repeated members merge.
        check("[a-cb-dd]", &["a", "d"], &["e"]);
    }

    #[test]
    fn alternatives() {
        check("{a,b}", &["a", "b"], &["c", "ab", ""]);
        check("web{01,02}", &["web01", "web02"], &["web03", "web"]);
        check("{a,b}{c,d}", &["ac", "ad", "bc", "bd"], &["ab", "a", "cd"]);
        check("{a,b{c,d}}", &["a", "bc", "bd"], &["b", "ac"]);
        check("{web*,db?}", &["web", "web17", "db1"], &["db", "db12", "x"]);
        check("{[ab]x,c}", &["ax", "bx", "c"], &["cx", "x"]);
        check("web{,-canary}", &["web", "web-canary"], &["web-"]);
        check("x{a,}{,b}", &["x", "xa", "xb", "xab"], &["xba"]);
        check("{a,b}.{c,d}", &["a.c", "b.d"], &["a", "a.b", "c.d"]);
        check("{{{a}}}", &["a"], &["{a}"]);
        check("{a,a}", &["a"], &["aa"]);
        // Braces inside a class are literal, so is a comma outside braces.
        check("{[{,}],x}", &["{", ",", "}", "x"], &["[", "]"]);
        assert!(pat("{a}.b").is_literal());
        assert_eq!(pat("{a}{bc}d").literal_prefix(), "abcd");
    }

    #[test]
    fn non_ascii_names() {
        check(
            "日本.*.東京",
            &["日本.x.東京", "日本.大阪.東京"],
            &["日本.東京"],
        );
        check("caf?", &["café", "cafe"], &["caf", "cafés"]);
        check("ü[ä-ö]*", &["üä", "üöx"], &["ü", "üa"]);
        check("{é,ß}", &["é", "ß"], &["e"]);
        check("😀?", &["😀x", "😀😀"], &["😀"]);
        assert_eq!(pat("日本.東京*").literal_prefix(), "日本.東京");
    }

    #[test]
    fn patterns_that_match_nothing_are_accepted() {
        // A node that only matches the empty string: no name has one.
        for text in ["{}", "a.{}", "{,}", "{}.a", "a.{,}.b"] {
            let p = pat(text);
            for name in ["a", "a.a", "a.b", "a.a.b", "x"] {
                assert!(!p.matches(name), "{text} matched {name}");
            }
        }
        // `{}` is an empty alternative, i.e. nothing: `web{}01` is literal.
        assert!(pat("web{}01").is_literal());
        check("web{}01", &["web01"], &["web{}01"]);
    }

    #[test]
    fn literal_prefix_of_each_form() {
        let cases = [
            ("dc1.rack04.*.nginx", "dc1.rack04.", false),
            ("dc1.rack0?", "dc1.rack0", false),
            ("dc1.rack04", "dc1.rack04", true),
            ("dc1.rack04.web[0-9]", "dc1.rack04.web", false),
            ("dc1.{a,b}", "dc1.", false),
            ("dc1.x{a,b}", "dc1.x", false),
            ("dc1.{x}y.*", "dc1.xy.", false),
            (r"d\*c\{1.\[x", "d*c{1.[x", true),
            ("*", "", false),
            ("*.a.b", "", false),
            ("?", "", false),
            ("[a]", "", false),
            ("a.b.c*", "a.b.c", false),
        ];
        for (text, prefix, literal) in cases {
            let p = pat(text);
            assert_eq!(p.literal_prefix(), prefix, "{text}");
            assert_eq!(p.is_literal(), literal, "{text}");
        }
    }

    #[test]
    fn regex_text() {
        let cases = [
            ("a.b", r"^a\.b$"),
            ("dc1.rack0?.*", r"^dc1\.rack0[^.]\.[^.]*$"),
            ("web_01-x", r"^web_01\-x$"),
            ("[a-c]", "^[a-c]$"),
            ("[!a-c]", "^[^.a-c]$"),
            ("[+-0]", r"^[\+-\-\/-0]$"),
            (r"[\]\\-]", r"^[\-\\-\]]$"),
            ("{a,b*}", r"^(?:a|b[^.]*)$"),
            ("{,a}", r"^(?:a)?$"),
            ("x{,}", r"^x$"),
            (r"(a|b)\*$^+\{", r"^\(a\|b\)\*\$\^\+\{$"),
            ("日本é", "^日本é$"),
            ("a\tb", r"^a\u0009b$"),
            ("**", "^[^.]*$"),
        ];
        for (text, re) in cases {
            assert_eq!(pat(text).to_posix_regex(), re, "{text}");
        }
        assert_eq!(pat("dc1.*").to_posix_descendants_regex(), r"^dc1\.[^.]*\.");
    }

    #[test]
    fn errors_name_the_position() {
        let cases = [
            (
                "",
                "empty name pattern: expected dot-separated nodes such as \"dc1.*.nginx\"",
            ),
            (
                "a..b",
                "invalid name pattern \"a..b\": empty node before the dot at character 3 \
                 (names have no empty nodes)",
            ),
            (".a", "empty node before the dot at character 1"),
            (".", "empty node before the dot at character 1"),
            ("a.", "empty node after the dot at character 2"),
            ("a.b.", "empty node after the dot at character 4"),
            (
                "a.[bc",
                "invalid name pattern \"a.[bc\": \"[\" at character 3 is not closed by \"]\"",
            ),
            ("[]", "\"[\" at character 1 is not closed"),
            ("[!]", "\"[\" at character 1 is not closed"),
            ("x[a-", "\"[\" at character 2 is not closed"),
            ("x[a\\", "\"[\" at character 2 is not closed"),
            ("x[a-\\", "\"[\" at character 2 is not closed"),
            (
                "日{a,b",
                "invalid name pattern \"日{a,b\": \"{\" at character 2 is not closed by \"}\"",
            ),
            ("{a,{b}", "\"{\" at character 1 is not closed"),
            ("{{a}", "\"{\" at character 1 is not closed"),
            (
                "a}",
                "invalid name pattern \"a}\": \"}\" at character 2 closes no \"{\" \
                 (write \\} for a literal one)",
            ),
            ("{a}}", "\"}\" at character 4 closes no"),
            (
                "ab\\",
                "invalid name pattern \"ab\\\": \"\\\" at character 3 escapes nothing \
                 (write \\\\ for a literal backslash)",
            ),
            (
                "a\\.b",
                "escaped dot at character 3 can never match: a dot always separates nodes",
            ),
            (
                "x.[a.b]",
                "dot at character 5 inside the class opened at character 3 can never match",
            ),
            (
                "[\\.]",
                "dot at character 3 inside the class opened at character 1",
            ),
            (
                "[a-.]",
                "dot at character 4 inside the class opened at character 1",
            ),
            (
                "[!.]",
                "dot at character 3 inside the class opened at character 1",
            ),
            (
                "x{a.b,c}",
                "dot at character 4 inside the alternatives opened at character 2: \
                 alternatives cannot span nodes",
            ),
            (
                "{a,{b.c}}",
                "dot at character 6 inside the alternatives opened at character 4",
            ),
            (
                "{a.",
                "dot at character 3 inside the alternatives opened at character 1",
            ),
            ("ab[z-a]", "range \"z-a\" at character 4 is out of order"),
            ("[ab-a]", "range \"b-a\" at character 3 is out of order"),
        ];
        for (text, want) in cases {
            let msg = err(text);
            assert!(msg.contains(want), "{text}: {msg}");
        }
        let deep = "{".repeat(MAX_NESTING + 1);
        assert!(err(&deep).contains("alternatives at character 33 nest deeper than 32 levels"));
        let ok = format!("{}a{}", "{".repeat(MAX_NESTING), "}".repeat(MAX_NESTING));
        check(&ok, &["a"], &["b"]);
    }

    #[test]
    fn children() {
        let p = pat("dc1.rack0?");
        assert_eq!(p.child("dc1.rack04.web017"), Some(("web017", true)));
        assert_eq!(p.child("dc1.rack04.web017.nginx"), Some(("web017", false)));
        assert_eq!(p.child("dc1.rack04"), None);
        assert_eq!(p.child("dc1.rack10.web017"), None);
        assert_eq!(p.child("dc2.rack04.web017"), None);
        let re = Are::parse(&p.to_posix_descendants_regex());
        for name in ["dc1.rack04.web017", "dc1.rack04.web017.nginx"] {
            assert!(re.prefix_match(name), "{name}");
        }
        for name in ["dc1.rack04", "dc1.rack10.x", "dc1.rack04x.y"] {
            assert!(!re.prefix_match(name), "{name}");
        }
        assert_eq!(next_node(0, "a"), Some(("a", true)));
        assert_eq!(next_node(0, "a.b"), Some(("a", false)));
        assert_eq!(next_node(1, "a.b.c"), Some(("b", false)));
        assert_eq!(next_node(2, "a.b.c"), Some(("c", true)));
        assert_eq!(next_node(3, "a.b.c"), None);
        assert_eq!(next_node(1, "日本.東京"), Some(("東京", true)));
    }

    #[test]
    fn hostile_patterns_match_in_linear_time() {
        // Backtracking would take ages on these; the NFA does not.
        let p = pat(&format!("{}b", "*a".repeat(30)));
        assert!(!p.matches(&"a".repeat(5000)));
        let p = pat(&format!("{}b", "{a,aa,*}".repeat(30)));
        assert!(!p.matches(&"a".repeat(5000)));
        assert!(p.matches(&format!("{}b", "a".repeat(5000))));
    }

    /// A strict reader and matcher for the subset of PostgreSQL's ARE
    /// syntax that `to_posix_regex` writes. It panics on anything outside
    /// that subset, in particular on a metacharacter left unescaped, and
    /// reads escapes and brackets as regc_lex.c does.
    #[derive(Debug)]
    enum Re {
        Lit(char),
        Set {
            negated: bool,
            items: Vec<(char, char)>,
        },
        Star(Box<Re>),
        Opt(Box<Re>),
        Group(Vec<Vec<Re>>),
    }

    struct Are {
        seq: Vec<Re>,
        anchored_end: bool,
    }

    struct Reader {
        chars: Vec<char>,
        pos: usize,
        text: String,
    }

    impl Reader {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }
        fn next(&mut self) -> char {
            let c = self
                .peek()
                .unwrap_or_else(|| panic!("{}: unexpected end", self.text));
            self.pos += 1;
            c
        }
        /// After a `\`: a non-alphanumeric character, or `\uXXXX`.
        fn escape(&mut self) -> char {
            let c = self.next();
            if c == 'u' {
                let hex: String = (0..4).map(|_| self.next()).collect();
                let v = u32::from_str_radix(&hex, 16)
                    .unwrap_or_else(|_| panic!("{}: bad \\u{hex}", self.text));
                return char::from_u32(v).expect("a valid character");
            }
            assert!(!c.is_ascii_alphanumeric(), "{}: escape \\{c}", self.text);
            c
        }
        /// A character written plainly must be one that no ARE context
        /// could read as anything else.
        fn plain(&self, c: char) -> char {
            assert!(
                c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii(),
                "{}: unescaped {c:?} at {}",
                self.text,
                self.pos
            );
            c
        }
        fn seq(&mut self, in_group: bool) -> Vec<Re> {
            let mut seq = Vec::new();
            loop {
                let atom = match self.peek() {
                    None => break,
                    Some('$') if !in_group && self.pos + 1 == self.chars.len() => break,
                    Some('|' | ')') if in_group => break,
                    Some('(') => {
                        self.pos += 1;
                        assert_eq!((self.next(), self.next()), ('?', ':'), "{}", self.text);
                        let mut branches = Vec::new();
                        loop {
                            branches.push(self.seq(true));
                            match self.next() {
                                '|' => {}
                                ')' => break,
                                c => panic!("{}: {c}", self.text),
                            }
                        }
                        assert!(branches.iter().all(|b| !b.is_empty()), "{}", self.text);
                        Re::Group(branches)
                    }
                    Some('[') => {
                        self.pos += 1;
                        let negated = self.peek() == Some('^');
                        if negated {
                            self.pos += 1;
                        }
                        let mut items = Vec::new();
                        loop {
                            let lo = match self.next() {
                                ']' if !items.is_empty() => break,
                                '\\' => self.escape(),
                                // Only right after `[^`, where it is safe.
                                '.' if negated && items.is_empty() => '.',
                                c => self.plain(c),
                            };
                            let hi = if self.peek() == Some('-') {
                                self.pos += 1;
                                match self.next() {
                                    '\\' => self.escape(),
                                    c => self.plain(c),
                                }
                            } else {
                                lo
                            };
                            assert!(lo <= hi, "{}", self.text);
                            items.push((lo, hi));
                        }
                        Re::Set { negated, items }
                    }
                    Some('\\') => {
                        self.pos += 1;
                        Re::Lit(self.escape())
                    }
                    Some(c) => {
                        self.pos += 1;
                        Re::Lit(self.plain(c))
                    }
                };
                let atom = match self.peek() {
                    Some('*') => {
                        self.pos += 1;
                        Re::Star(Box::new(atom))
                    }
                    Some('?') => {
                        self.pos += 1;
                        Re::Opt(Box::new(atom))
                    }
                    _ => atom,
                };
                assert!(
                    !matches!(self.peek(), Some('*' | '?' | '+' | '{')),
                    "{}: double quantifier",
                    self.text
                );
                seq.push(atom);
            }
            seq
        }
    }

    impl Are {
        fn parse(text: &str) -> Are {
            let mut r = Reader {
                chars: text.chars().collect(),
                pos: 0,
                text: text.to_string(),
            };
            assert_eq!(r.next(), '^', "{text}");
            let seq = r.seq(false);
            let anchored_end = r.peek() == Some('$');
            r.pos += usize::from(anchored_end);
            assert_eq!(r.pos, r.chars.len(), "{text}: trailing text");
            Are { seq, anchored_end }
        }
        fn full_match(&self, s: &str) -> bool {
            assert!(self.anchored_end);
            let chars: Vec<char> = s.chars().collect();
            match_seq(&self.seq, &chars, &|rest| rest.is_empty())
        }
        fn prefix_match(&self, s: &str) -> bool {
            assert!(!self.anchored_end);
            let chars: Vec<char> = s.chars().collect();
            match_seq(&self.seq, &chars, &|_| true)
        }
    }

    fn match_seq(seq: &[Re], s: &[char], k: &dyn Fn(&[char]) -> bool) -> bool {
        match seq.split_first() {
            None => k(s),
            Some((first, rest)) => match_one(first, s, &|s2| match_seq(rest, s2, k)),
        }
    }

    fn match_one(re: &Re, s: &[char], k: &dyn Fn(&[char]) -> bool) -> bool {
        match re {
            Re::Lit(c) => s.first() == Some(c) && k(&s[1..]),
            Re::Set { negated, items } => {
                s.first()
                    .is_some_and(|c| items.iter().any(|&(lo, hi)| lo <= *c && *c <= hi) != *negated)
                    && k(&s[1..])
            }
            Re::Star(inner) => {
                k(s) || match_one(inner, s, &|s2| s2.len() < s.len() && match_one(re, s2, k))
            }
            Re::Opt(inner) => match_one(inner, s, k) || k(s),
            Re::Group(branches) => branches.iter().any(|b| match_seq(b, s, k)),
        }
    }

    /// Characters of names and patterns: plain, pattern syntax, non-ASCII,
    /// and both sides of the dot for ranges that span it.
    const ALPHABET: [char; 18] = [
        'a', 'b', 'c', '-', '*', '?', '[', ']', '{', '}', ',', '\\', '!', '^', 'é', '日', '+', '/',
    ];

    /// A generated node pattern, kept apart from the parser's types so
    /// that the reference below shares nothing with the code under test.
    #[derive(Debug, Clone)]
    enum G {
        Lit(char),
        Star,
        One,
        Class(bool, Vec<(char, char)>),
        Alt(Vec<Vec<G>>),
    }

    fn gen_seq(rng: &mut Lcg, depth: usize, min: usize) -> Vec<G> {
        let n = min + rng.below(4);
        (0..n)
            .map(|_| match rng.below(10) {
                0..=3 => G::Lit(rng.pick(&ALPHABET)),
                4 => G::Star,
                5 => G::One,
                6 | 7 => {
                    let ranges = (0..1 + rng.below(3))
                        .map(|_| {
                            let (a, b) = (rng.pick(&ALPHABET), rng.pick(&ALPHABET));
                            if rng.below(2) == 0 {
                                (a, a)
                            } else {
                                (a.min(b), a.max(b))
                            }
                        })
                        .collect();
                    G::Class(rng.below(3) == 0, ranges)
                }
                _ if depth < 2 => G::Alt(
                    (0..1 + rng.below(3))
                        .map(|_| gen_seq(rng, depth + 1, 0))
                        .collect(),
                ),
                _ => G::Lit('a'),
            })
            .collect()
    }

    /// The pattern text of a generated node, escaping what must be and,
    /// now and then, what need not be.
    fn render(seq: &[G], rng: &mut Lcg, out: &mut String) {
        for g in seq {
            match g {
                G::Lit(c) => {
                    if "*?[]{},\\".contains(*c) || rng.below(8) == 0 {
                        out.push('\\');
                    }
                    out.push(*c);
                }
                G::Star => out.push('*'),
                G::One => out.push('?'),
                G::Class(negated, ranges) => {
                    out.push('[');
                    if *negated {
                        out.push(rng.pick(&['!', '^']));
                    }
                    for &(lo, hi) in ranges {
                        for (i, c) in [lo, hi].into_iter().enumerate() {
                            if i == 1 {
                                if hi == lo {
                                    break;
                                }
                                out.push('-');
                            }
                            if !c.is_alphanumeric() || rng.below(8) == 0 {
                                out.push('\\');
                            }
                            out.push(c);
                        }
                    }
                    out.push(']');
                }
                G::Alt(branches) => {
                    out.push('{');
                    for (i, b) in branches.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        render(b, rng, out);
                    }
                    out.push('}');
                }
            }
        }
    }

    /// Reference: a brace-free glob element, as Graphite sees a node after
    /// expanding braces.
    #[derive(Debug, Clone)]
    enum Flat {
        Lit(char),
        Star,
        One,
        Class(bool, Vec<(char, char)>),
    }

    fn expand(seq: &[G]) -> Vec<Vec<Flat>> {
        let mut out = vec![Vec::new()];
        for g in seq {
            let tails: Vec<Vec<Flat>> = match g {
                G::Lit(c) => vec![vec![Flat::Lit(*c)]],
                G::Star => vec![vec![Flat::Star]],
                G::One => vec![vec![Flat::One]],
                G::Class(n, r) => vec![vec![Flat::Class(*n, r.clone())]],
                G::Alt(branches) => branches.iter().flat_map(|b| expand(b)).collect(),
            };
            out = out
                .iter()
                .flat_map(|head| {
                    tails.iter().map(move |tail| {
                        let mut v = head.clone();
                        v.extend(tail.iter().cloned());
                        v
                    })
                })
                .collect();
        }
        out
    }

    fn glob(p: &[Flat], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((Flat::Star, rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
            Some((Flat::One, rest)) => !s.is_empty() && glob(rest, &s[1..]),
            Some((Flat::Lit(c), rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
            Some((Flat::Class(negated, ranges), rest)) => {
                s.first().is_some_and(|c| {
                    ranges.iter().any(|&(lo, hi)| lo <= *c && *c <= hi) != *negated
                }) && glob(rest, &s[1..])
            }
        }
    }

    fn reference(nodes: &[Vec<Vec<Flat>>], name: &str) -> bool {
        let parts: Vec<&str> = name.split('.').collect();
        parts.len() == nodes.len()
            && nodes.iter().zip(&parts).all(|(alts, part)| {
                let chars: Vec<char> = part.chars().collect();
                alts.iter().any(|flat| glob(flat, &chars))
            })
    }

    /// A name the pattern may well match: each node drawn from its pattern,
    /// a character now and then changed.
    fn sample(seq: &[G], rng: &mut Lcg, out: &mut String) {
        for g in seq {
            match g {
                G::Lit(c) => out.push(*c),
                G::Star => {
                    for _ in 0..rng.below(3) {
                        out.push(rng.pick(&ALPHABET));
                    }
                }
                G::One => out.push(rng.pick(&ALPHABET)),
                G::Class(_, ranges) => {
                    let (lo, hi) = rng.pick(ranges);
                    let c = if rng.below(2) == 0 { lo } else { hi };
                    out.push(if rng.below(4) == 0 {
                        rng.pick(&ALPHABET)
                    } else {
                        c
                    });
                }
                G::Alt(branches) => sample(&branches[rng.below(branches.len())], rng, out),
            }
        }
        if rng.below(6) == 0 {
            out.push(rng.pick(&ALPHABET));
        }
    }

    fn random_name(rng: &mut Lcg) -> String {
        (0..1 + rng.below(3))
            .map(|_| (0..1 + rng.below(3)).map(|_| rng.pick(&ALPHABET)).collect())
            .collect::<Vec<String>>()
            .join(".")
    }

    #[test]
    fn agrees_with_a_reference_and_its_regex() {
        let mut rng = Lcg(0x5eed);
        let (mut hits, mut child_hits, mut names) = (0, 0, 0);
        for _ in 0..3000 {
            let gen: Vec<Vec<G>> = (0..1 + rng.below(3))
                .map(|_| gen_seq(&mut rng, 0, 1))
                .collect();
            let mut text = String::new();
            for (i, node) in gen.iter().enumerate() {
                if i > 0 {
                    text.push('.');
                }
                render(node, &mut rng, &mut text);
            }
            let p = pat(&text);
            assert_eq!(p.node_count(), gen.len(), "{text}");
            let flat: Vec<Vec<Vec<Flat>>> = gen.iter().map(|n| expand(n)).collect();
            let full = Are::parse(&p.to_posix_regex());
            let below = Are::parse(&p.to_posix_descendants_regex());
            for _ in 0..20 {
                let mut name = if rng.below(4) == 0 {
                    random_name(&mut rng)
                } else {
                    let mut s = String::new();
                    for (i, node) in gen.iter().enumerate() {
                        if i > 0 {
                            s.push('.');
                        }
                        sample(node, &mut rng, &mut s);
                    }
                    s
                };
                if rng.below(3) == 0 {
                    name.push('.');
                    name.push(rng.pick(&ALPHABET));
                }
                if name.split('.').any(str::is_empty) {
                    continue; // not a series name
                }
                names += 1;
                let want = reference(&flat, &name);
                assert_eq!(p.matches(&name), want, "{text} on {name}");
                assert_eq!(
                    full.full_match(&name),
                    want,
                    "{} on {name}",
                    p.to_posix_regex()
                );
                if want {
                    hits += 1;
                    assert!(name.starts_with(p.literal_prefix()), "{text} on {name}");
                }
                if p.is_literal() {
                    assert_eq!(want, name == p.literal_prefix(), "{text} on {name}");
                }
                let child = p.child(&name);
                let parts: Vec<&str> = name.split('.').collect();
                let k = p.node_count();
                let want_child = parts.len() > k && reference(&flat, &parts[..k].join("."));
                assert_eq!(child.is_some(), want_child, "{text} on {name}");
                assert_eq!(below.prefix_match(&name), want_child, "{text} on {name}");
                if let Some((node, last)) = child {
                    child_hits += 1;
                    assert_eq!((node, last), (parts[k], parts.len() == k + 1));
                    assert_eq!(next_node(k, &name), child);
                }
            }
        }
        // Both outcomes must be exercised, not only misses.
        assert!(hits > names / 5, "{hits} of {names} names matched");
        assert!(
            child_hits > names / 20,
            "{child_hits} of {names} had a child"
        );
    }

    #[test]
    fn mangled_patterns_never_panic() {
        let mut rng = Lcg(99);
        let pieces = [
            "a", "b", ".", "*", "?", "[", "]", "{", "}", ",", "\\", "!", "^", "-", "é", "日",
        ];
        let (mut parsed, mut names) = (0, 0);
        for _ in 0..20_000 {
            let text: String = (0..1 + rng.below(10)).map(|_| rng.pick(&pieces)).collect();
            match Pattern::parse(&text) {
                Ok(p) => {
                    parsed += 1;
                    let re = Are::parse(&p.to_posix_regex());
                    Are::parse(&p.to_posix_descendants_regex());
                    for _ in 0..5 {
                        let name = random_name(&mut rng);
                        names += 1;
                        assert_eq!(p.matches(&name), re.full_match(&name), "{text} on {name}");
                    }
                }
                Err(RrdError::BadParameter { msg }) => {
                    assert!(
                        msg.contains("character") || msg.starts_with("empty name pattern"),
                        "{text}: {msg}"
                    );
                }
                Err(e) => panic!("{text}: unexpected error kind {e:?}"),
            }
        }
        assert!(parsed > 2000 && names > 0, "only {parsed} of 20000 parsed");
    }
}
