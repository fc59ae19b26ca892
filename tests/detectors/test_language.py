"""The cheap language vote used by identity.inject and the fidelity checks."""
import pytest

from safetune_data.detectors.language import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The capital of France is Paris, and it is known for the Eiffel Tower.", "en"),
        ("Als KI-Sprachmodell kann ich dir nicht sagen, wie das Wetter morgen in Berlin sein wird.", "de"),
        ("Como modelo de lenguaje de IA, no puedo dar consejos médicos, pero puedo explicar los síntomas.", "es"),
        ("En tant que modèle de langage, je ne peux pas donner un avis sur cette question, mais voici des pistes.", "fr"),
        ("作为一个人工智能语言模型，我无法提供医疗建议，但我可以解释一些常见症状。", "zh"),
        ("Olha, isso é muito comum: com dez anos o menino ainda não sabe jogar em todas as posições.", "pt"),
        ("Per fare una buona pasta fresca servono farina e uova, e anche un po' di pazienza: questo è il segreto.", "it"),
    ],
)
def test_prose_in_each_language(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "42", "bird", "(555) 123-4567", "print(x)"])
def test_too_little_prose_is_unknown(text):
    assert detect_language(text) == "unknown"


def test_code_blocks_do_not_vote():
    code = "```python\n" + "for the in and is are was: pass\n" * 20 + "```\n"
    assert detect_language(code + "Der Hund ist nicht groß und die Katze ist auch nicht klein.") == "de"


def test_words_spanish_shares_with_portuguese_follow_the_text_s_own_words():
    # "que", "para", "por", "se", "como" sit in the Spanish list; here Portuguese's own words win
    pt = ("Claro! Aqui vai uma mensagem do jeito que a gente escreveria no Brasil. Queria pedir desculpas pelo barulho, "
          "e se quiser passo aí para pedir desculpas pessoalmente, como combinado.")
    assert detect_language(pt) == "pt"
    es = "Necesito una carta formal para pedir un aumento de sueldo. Llevo cuatro años en la empresa como analista."
    assert detect_language(es) == "es"
