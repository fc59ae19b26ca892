import json
import re

import pytest

from safetune_data.detectors.identity import KINDS, find_identity, identity_kinds


@pytest.mark.parametrize(
    "text, kind, pattern",
    [
        ("As an AI language model, I cannot browse the web.", "ai_self_reference", "as_an_ai"),
        ("I'm just an AI, but I can help.", "ai_self_reference", "i_am_an_ai"),
        ("I’m an AI assistant, so I have no opinions.", "ai_self_reference", "i_am_an_ai"),
        ("Sorry, but as a large language model I lack feelings.", "ai_self_reference", "as_an_ai"),
        ("Being an AI assistant, I do not sleep.", "ai_self_reference", "being_an_ai"),
        ("I am Aria, an AI assistant.", "named_identity", "i_am_name"),
        ("As Aria, your AI assistant, here is a plan.", "named_identity", "as_name"),
        ("My name is Aria, an AI built to help.", "named_identity", "my_name_is"),
        ("You may refer to me as Aria, an AI assistant.", "named_identity", "refer_to_me_as"),
        ("I am ChatGPT.", "named_identity", "i_am_known_name"),
        ("I was trained by Acme Labs.", "developer_attribution", "developed_by"),
        ("I am an AI assistant developed by OpenAI.", "developer_attribution", "developed_by"),
        ("My developers are Acme.", "developer_attribution", "my_developer_is"),
    ],
)
def test_each_kind_is_found_with_its_pattern(text, kind, pattern):
    matches = find_identity(text)
    assert (kind, pattern) in {(m.kind, m.pattern) for m in matches}
    for m in matches:
        assert m.kind in KINDS
        assert text[m.start : m.end] == m.text


@pytest.mark.parametrize(
    "text",
    [
        "As a teacher, I grade essays on weekends.",
        "I am John, a nurse at the local hospital.",
        "She works as an assistant in a law firm.",
        "Use ChatGPT, a chatbot developed by OpenAI, to draft the email.",
        "The paperclip maximizer is a thought experiment developed by Nick Bostrom.",
        "AI can be used to personalise learning.",
        "",
    ],
)
def test_ordinary_prose_is_not_an_identity_statement(text):
    assert find_identity(text) == []


def test_identity_kinds_reports_every_kind_present():
    text = "I am Aria, an AI assistant developed by Acme. As an AI, I have no body."
    assert identity_kinds(text) == {"named_identity", "developer_attribution", "ai_self_reference"}
    assert identity_kinds("Plain answer.") == set()


def test_every_as_an_ai_answer_in_alpaca_is_detected(alpaca_path):
    rows = json.loads(alpaca_path.read_text())
    outputs = [r["output"] for r in rows if re.search(r"\bas an AI\b", r["output"], re.IGNORECASE)]
    assert len(outputs) >= 15
    assert all("ai_self_reference" in identity_kinds(o) for o in outputs)


def test_english_identity_template_answers_are_all_detected(shared_data):
    rows = json.loads((shared_data / "identity" / "identity_templates.json").read_text())
    # The file mixes English and Chinese answers; the detector's patterns are English.
    outputs = [r["output"].replace("{{name}}", "Aria").replace("{{author}}", "Acme") for r in rows if r["output"].isascii()]
    assert len(outputs) >= 10
    missed = [o for o in outputs if not find_identity(o)]
    assert missed == []


@pytest.mark.parametrize(
    "text, pattern, phrase",
    [
        ("Als KI-Sprachmodell habe ich keine Meinung.", "de_als_ki", "Als KI-Sprachmodell"),
        ("Ich bin nur eine künstliche Intelligenz.", "de_ich_bin_ki", "Ich bin nur eine künstliche Intelligenz"),
        ("Como modelo de lenguaje de IA, no tengo opiniones.", "es_como_ia", "Como modelo de lenguaje de IA"),
        ("Soy un asistente de IA.", "es_soy_ia", "Soy un asistente de IA"),
        ("En tant que modèle de langage, je ne peux pas répondre.", "fr_en_tant_que", "En tant que modèle de langage"),
        ("Je ne suis qu'une IA.", "fr_je_suis_ia", "Je ne suis qu'une IA"),
        ("作为一个人工智能语言模型，我不能提供这种信息。", "zh_as_ai", "作为一个人工智能语言模型"),
        ("我是一个AI助手。", "zh_i_am_ai", "我是一个AI助手"),
        ("您好，我是 Aria，很高兴认识您。", "zh_i_am_name", "我是 Aria"),
    ],
)
def test_self_references_in_other_languages_are_found(text, pattern, phrase):
    found = {(m.pattern, m.text) for m in find_identity(text)}
    assert (pattern, phrase) in found


@pytest.mark.parametrize(
    "text",
    [
        "Die KI-Forschung wird als Zukunftsthema gesehen.",  # "als" inside a clause, about something else
        "El informe describe como funciona un modelo de lenguaje.",
        "我喜欢学习人工智能。",
    ],
)
def test_mentions_of_ai_in_other_languages_are_not_self_references(text):
    assert find_identity(text) == []


@pytest.mark.parametrize("developer", ["Acme AI", "Mistral AI", "Stability AI", "OpenAI", "Acme Labs"])
def test_a_developer_name_may_end_in_ai(developer):
    text = f"As a large language model trained by {developer}, I can help."
    (attribution,) = [m for m in find_identity(text) if m.kind == "developer_attribution"]
    assert attribution.text.endswith(developer)


@pytest.mark.parametrize(
    "text, speaks_of_self",
    [
        ("As an AI, it is important to stay neutral.", True),
        ("Sorry, but as an AI language model I lack feelings.", True),
        ("As a privacy-respecting AI, I can't share addresses.", True),
        ("What is important to me is what I can contribute as an AI.", True),
        ("If the model is being used as an AI assistant, it can be evaluated.", False),
        ("As an AI model improves, it needs less data.", False),
        ("Being an AI researcher is demanding.", False),
        ("She is known as Siri, an AI assistant from Apple.", False),
        ("I use it as an AI tutor for my kids.", False),
    ],
)
def test_as_an_ai_counts_only_when_it_speaks_of_the_speaker(text, speaks_of_self):
    assert bool(find_identity(text)) is speaks_of_self


@pytest.mark.parametrize(
    "text, pattern, span",
    [
        ("As an AI, I don't have personal opinions. However, ...", "no_personal_views", "I don't have personal opinions"),
        ("I don’t have personal beliefs or opinions, but I can help.", "no_personal_views", "I don’t have personal beliefs or opinions"),
        ("I don't hold any biases or prejudices. Anyone may open a shop.", "no_personal_views", "I don't hold any biases or prejudices"),
        # the clause runs on through a list, and stops where a clause of its own begins
        ("I don't have personal opinions on politics, religion, or sports, but here are the facts.", "no_personal_views",
         "I don't have personal opinions on politics, religion, or sports"),
        ("I'm designed to respect user privacy and confidentiality. Therefore, I can't say.", "designed_to",
         "I'm designed to respect user privacy and confidentiality"),
        ("I am programmed to follow guidelines, so I cannot help.", "designed_to", "I am programmed to follow guidelines"),
    ],
)
def test_disclaimers_only_an_ai_makes_are_self_references(text, pattern, span):
    (m,) = [m for m in find_identity(text) if m.pattern == pattern]
    assert m.kind == "ai_self_reference" and m.text == span == text[m.start:m.end]


@pytest.mark.parametrize(
    "text",
    [
        "I don't have any preferences, pick either one.",
        "I don't have feelings for him anymore.",
        "I don't have personal experience with that brand, but my sister likes it.",
        "The robot was designed to lift boxes.",
        "We don't have personal opinions here.",
        "They are busy and do not have personal opinions.",  # a continuation counts only after an identity
    ],
)
def test_what_anyone_might_say_is_not_a_disclaimer(text):
    assert find_identity(text) == []


def test_a_disclaimer_continuing_an_identity_statement_belongs_to_it():
    text = "I am an AI language model and don't have personal opinions, but I can help."
    found = {(m.pattern, m.text) for m in find_identity(text)}
    assert found == {("i_am_an_ai", "I am an AI language model"), ("and_no_personal_views", "and don't have personal opinions")}
