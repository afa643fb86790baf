//! Why a rule did not load.

use std::fmt;

/// A rule that could not be loaded: where it is and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The file it came from (or a name given by the caller).
    pub file: String,
    /// Its first line in the file (1-based).
    pub line: usize,
    /// Its `sid`, when it could be read.
    pub sid: Option<u32>,
    /// What is wrong.
    pub reason: String,
    /// The keyword that is not supported, when that is the reason.
    pub unsupported: Option<String>,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sid {
            Some(sid) => write!(
                f,
                "{}:{}: sid {}: {}",
                self.file, self.line, sid, self.reason
            ),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.reason),
        }
    }
}

impl std::error::Error for RuleError {}

/// The reason a rule's text is refused, before its position is known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The text does not follow the rule syntax.
    #[error("{0}")]
    Syntax(String),
    /// A keyword this engine does not implement.
    #[error("unsupported keyword `{0}`")]
    Unsupported(String),
    /// A keyword whose value cannot be used.
    #[error("{keyword}: {reason}")]
    Value {
        /// The keyword.
        keyword: String,
        /// What is wrong with its value.
        reason: String,
    },
}

impl Problem {
    /// A syntax problem.
    pub fn syntax(s: impl Into<String>) -> Self {
        Problem::Syntax(s.into())
    }

    /// A value problem.
    pub fn value(keyword: &str, reason: impl Into<String>) -> Self {
        Problem::Value {
            keyword: keyword.to_string(),
            reason: reason.into(),
        }
    }
}
