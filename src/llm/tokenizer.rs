//! The tokenizer: one token per character of the task's alphabet, plus a few whole
//! words and tags as single tokens. Encoding takes the longest token that matches at
//! each position, so `decode(encode(s)) == s` for every string over the alphabet.

use super::task::{Task, TEMPLATE_PREFIX, TEMPLATE_SUFFIX};
use crate::error::{Error, Result};

/// End of a document; also the padding token (padding is always masked).
pub const EOS: u32 = 0;

/// The vocabulary, in id order. Multi-character entries are single tokens: the R1-Zero
/// template's fixed text (two tokens), the four tags, and the words of the corpus.
const MULTI: [&str; 12] = [
    "<eos>",
    TEMPLATE_PREFIX,
    TEMPLATE_SUFFIX,
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "The",
    "answer",
    "is",
    "so",
    "carry",
];
const CHARS: &str = "0123456789+-=.,: ";
/// The words the 3-digit task's corpus adds for its checks (appended after the
/// characters, so the 2-digit task's ids are a prefix of the 3-digit task's).
const CHECK_WORDS: [&str; 2] = ["check", "no"];

/// Maps text to token ids and back. A tokenizer belongs to one task: the vocabulary is
/// the language of that task's corpus, so a model, its tokenizer and its task go together.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    vocab: Vec<String>,
    /// Token ids sorted by decreasing length, for longest-match encoding.
    by_length: Vec<u32>,
    task: Task,
}

impl Default for Tokenizer {
    /// The tokenizer of the default task (3-digit addition).
    fn default() -> Self {
        Self::for_task(Task::default())
    }
}

impl Tokenizer {
    /// The tokenizer of a task: the 3-digit task adds the words of its checks.
    pub fn for_task(task: Task) -> Tokenizer {
        let extra: &[&str] = match task {
            Task::Add2 => &[],
            Task::Add3 => &CHECK_WORDS,
        };
        let vocab: Vec<String> = MULTI
            .iter()
            .map(|s| s.to_string())
            .chain(CHARS.chars().map(String::from))
            .chain(extra.iter().map(|s| s.to_string()))
            .collect();
        let mut by_length: Vec<u32> = (0..vocab.len() as u32).collect();
        by_length.sort_by_key(|&i| std::cmp::Reverse(vocab[i as usize].len()));
        Tokenizer { vocab, by_length, task }
    }

    /// The task whose corpus this vocabulary writes.
    pub fn task(&self) -> Task {
        self.task
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    /// The text of one token.
    pub fn token(&self, id: u32) -> &str {
        self.vocab.get(id as usize).map_or("�", |s| s.as_str())
    }

    /// The id of a token given by its exact text.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.vocab.iter().position(|t| t == token).map(|i| i as u32)
    }

    /// Longest match first; a character outside the alphabet is an error naming it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            let id = self.by_length.iter().copied().find(|&i| rest.starts_with(self.vocab[i as usize].as_str()));
            match id {
                Some(id) => {
                    ids.push(id);
                    rest = &rest[self.vocab[id as usize].len()..];
                }
                None => {
                    let c = rest.chars().next().unwrap_or(' ');
                    return Err(Error::invalid("text to encode", format!("{c:?}"), "character not in the vocabulary"));
                }
            }
        }
        Ok(ids)
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&i| self.token(i)).collect()
    }

    /// Decodes a completion up to (not including) its first end token.
    pub fn decode_until_eos(&self, ids: &[u32]) -> String {
        let end = ids.iter().position(|&i| i == EOS).unwrap_or(ids.len());
        self.decode(&ids[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_single_tokens() {
        let t = Tokenizer::for_task(Task::Add2);
        let prompt = super::super::task::r1_prompt("47+85");
        for s in
            ["", "347+285=632", " <think> 7+5=12 </think> <answer> 632 </answer><eos>", &prompt, "The answer is 9."]
        {
            assert_eq!(t.decode(&t.encode(s).unwrap()), s);
        }
        // The whole template is 2 tokens around the question.
        assert_eq!(t.encode(&prompt).unwrap().len(), 2 + 5);
        assert_eq!(t.encode("<answer>").unwrap(), vec![t.id("<answer>").unwrap()]);
        assert!(t.encode("347×2").is_err());
        assert_eq!(t.decode_until_eos(&[t.id("1").unwrap(), EOS, t.id("2").unwrap()]), "1");
    }
}
