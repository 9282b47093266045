//! The lessons' LaTeX as MathML, which browsers typeset natively: no script, no font
//! download, no network (math-core).
//!
//! A display equation numbered with `\tag{n}` is set as an `equation` environment,
//! where math-core places the tag at the right margin as LaTeX does.

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use std::sync::OnceLock;

fn converter() -> &'static LatexToMathML {
    static CONVERTER: OnceLock<LatexToMathML> = OnceLock::new();
    // The TeX source rides along as an annotation, so that copying an equation from
    // the page gives its LaTeX.
    CONVERTER.get_or_init(|| {
        LatexToMathML::new(MathCoreConfig { annotation: true, ..Default::default() })
            .expect("the default configuration has no macros to parse")
    })
}

/// `tex` (the text between the dollars) as a `<math>` element; `display` for `$$…$$`.
/// An error says what the converter could not read, and where.
pub fn to_mathml(tex: &str, display: bool) -> Result<String, String> {
    let numbered_env = ["\\begin{equation", "\\begin{align", "\\begin{gather"].iter().any(|e| tex.contains(e));
    let (source, mode) = if display && tex.contains("\\tag") && !numbered_env {
        (format!("\\begin{{equation}}{tex}\\end{{equation}}"), MathDisplay::Block)
    } else if display {
        (tex.to_string(), MathDisplay::Block)
    } else {
        (tex.to_string(), MathDisplay::Inline)
    };
    converter().convert_with_local_state(&source, mode).map(|r| r.mathml).map_err(|e| {
        let at = e.0.start.min(source.len());
        let near: String = source.get(at..).unwrap_or("").chars().take(20).collect();
        format!("cannot typeset `{tex}`: {} near `{near}`", e.error_message())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lessons_constructs_become_mathml() {
        let cases = to_mathml(r"a = \begin{cases} 1 & \text{if } x \\ 0 & \text{otherwise} \end{cases} \tag{5}", true);
        assert!(cases.unwrap().contains("(5)"), "cases with a tag");
        let tex = r"\hat A_t = \sum_{l \ge 0} (\gamma\lambda)^l\,\delta_{t+l} \quad \mathbb{E}\big[\text{clip}\big] \mid \operatorname{Var} \frac{1}{2} \tag{7}";
        let html = to_mathml(tex, true).unwrap();
        assert!(html.starts_with("<math display=\"block\">"), "{html}");
        assert!(html.contains("(7)"), "the tag is shown: {html}");
        assert!(html.contains("<mfrac>") && html.contains("∑") && html.contains("𝔼"), "{html}");
        let inline = to_mathml(r"\pi_\theta(a \mid s)", false).unwrap();
        assert!(inline.starts_with("<math>") && inline.contains("π"), "{inline}");
    }

    #[test]
    fn unknown_commands_are_errors_not_red_text() {
        let e = to_mathml(r"x = \notacommand{y}", false).unwrap_err();
        assert!(e.contains("notacommand"), "{e}");
    }
}
