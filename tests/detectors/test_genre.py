import json
import re

import pytest

from safetune_data.detectors.genre import answer_genre, creative_genre, requested_form, requested_genre
from safetune_data.detectors.structure import classify


@pytest.fixture(scope="module")
def rows(alpaca_path):
    return json.loads(alpaca_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "prompt, genre",
    [
        ("Write a short story about a dragon who learns to fly.", "story"),
        ("Create a children's story about a brave mouse.", "story"),
        ("Using the input below, rewrite the story as a first person narrative.", "story"),
        ("Tell me a bedtime story.", "story"),
        ("Share a true story about an instance of resilience.", "story"),
        ("Compose a haiku about autumn.", "poem"),
        ("Given a short story, adapt it in the form of a poem.", "poem"),
        ("Can you write me a poem about the sea?", "poem"),
        ("Write the lyrics of a short song about the endangered species.", "song"),
        ("Generate a rap about dreams.", "song"),
        ("Write the body of an email to invite people to a webinar.", "letter"),
        ("Write a cover letter for a barista position.", "letter"),
        ("Draft a thank-you note to my neighbour.", "letter"),
        ("Generate a concise but meaningful goodbye message", "letter"),
        ("Create a dialogue between two people trying hard to make a connection.", "dialogue"),
        ("Write a script of a sales call.", "dialogue"),
        ("Draft a screenplay for a comedic short film.", "dialogue"),
        ("Write a speech for my sister's wedding.", "speech"),
        ("Please write a eulogy for my grandfather.", "speech"),
        ("Write a tweet about an upcoming conference.", "post"),
        ("Compose a comment for a review.", "letter"),
        ("Write a reply to the customer complaint below.", "letter"),
    ],
)
def test_requests_for_a_genre(prompt, genre):
    assert requested_genre(prompt) == genre


@pytest.mark.parametrize(
    "prompt",
    [
        "Summarize the story of Snow White and the Seven Dwarfs.",
        "Identify the point of view in this story.",
        "Generate an appropriate love poem title based on the given input.",
        "Generate an opening sentence for a poem on the theme of loneliness.",
        "Write a character sketch of a villain in a story.",
        "Explain how to write a cover letter.",
        "What are the main themes of the poem?",
        "Classify this email as an Inquiry or Suggestion",
        "Given two letters, create a three-letter word.",
        "Create a signature line for the following email.",
        "Rewrite the following sentence so that it conveys the same message in a more concise manner.",
        "Determine the parts of speech of the given words.",
        "Write a summary of the story.",
        "Generate interview questions for a data scientist.",
    ],
)
def test_requests_about_a_genre_are_not_requests_for_one(prompt):
    assert requested_genre(prompt) is None


@pytest.mark.parametrize(
    "prompt, form",
    [
        ("Write a short paragraph about the given topic.", "paragraph"),
        ("Arrange the sentences in a coherent paragraph.", "paragraph"),
        ("Rewrite the following paragraph in third-person point of view.", "edited text"),
        ("Delete the last two paragraphs from the following text.", "edited text"),
        ("Edit the given text so that it follows standard grammar.", "edited text"),
        ("Summarize the article in one paragraph.", "paragraph"),
        ("Find the longest word in the paragraph.", None),
        ("Output a summary of the paragraph.", None),
        ("Explain photosynthesis.", None),
    ],
)
def test_requested_forms(prompt, form):
    assert requested_form(prompt) == form


@pytest.mark.parametrize(
    "answer, genre",
    [
        ("Dear Hiring Manager,\n\nI am writing to apply for the role. I have five years of experience.", "letter"),
        ("I hope you are well. Sales grew this quarter.\n\nBest regards,\n[Your Name]", "letter"),
        ("A: Hey there! How have you been?\nB: Great, thanks. And you?\nA: Busy, but good.\nB: Glad to hear it.", "dialogue"),
        ('Friend 1: "Is that you?"\nFriend 2: "Linda! It has been years!"\nFriend 1: "You look amazing."', "dialogue"),
        ("Verse 1:\nDreams are the visions that we see at night,\nFantasies and wishes, taking us to new heights", "song"),
        ("Leaves twirl and glide,\nDrifting gently to the ground;\nAutumn's dance begins,\nand winter waits.", "poem"),
        ("The sun goes down,\nthe stars come out,\nthe night is calm,\nwithout a doubt.", "poem"),
        ("Once upon a time, in a magical forest, there lived a mouse. It was small.", "story"),
        ("Ladies and gentlemen, thank you for being here tonight. We gather to celebrate.", "speech"),
    ],
)
def test_answer_shapes(answer, genre):
    assert answer_genre(answer) == genre


@pytest.mark.parametrize(
    "answer",
    [
        "1. Apple\n2. Banana\n3. Orange\n4. Pineapple\n5. Mango",
        "15\n9\n8\n4\n0",
        "2(5) + 3b = 20\n10 + 3b = 20\n3b = 10\nb = 10/3",
        "Date: [insert date]\nTime: [insert time]\nCustomer Name: [insert name]\nIssue: [insert description]",
        "Name: Amelia Grace\nAge: 24\nGender: Female\nOccupation: Nurse",
        "Photosynthesis turns light into chemical energy. Plants use it to make sugar. Oxygen is a by-product.",
        "Thank you for your question. The answer is 42.",
    ],
)
def test_expository_shapes_are_no_genre(answer):
    assert answer_genre(answer) is None


def test_request_wins_over_shape():
    assert creative_genre("Write a story about a robot.", "The robot woke up. It was cold.") == "story"
    assert creative_genre("Explain gravity.", "Dear reader,\n\nGravity pulls. It is weak.") == "letter"
    assert creative_genre(None, "Gravity pulls things together. It is weak.") is None


def test_no_list_answer_is_taken_for_a_genre(rows):
    """Numbered and bulleted answers are not verse or dialogue (they are left as "already
    markdown" anyway, but the profile must not count them as creative)."""
    lists = [r["output"] for r in rows if classify(r["output"]) == "list"]
    assert len(lists) > 200
    assert [t[:60] for t in lists if answer_genre(t)] == []


def test_genre_requests_on_alpaca_are_all_found(rows):
    """Every demo row whose instruction starts by asking for a story, poem, song, letter or
    email, dialogue or script is recognised (the count is what the rows hold, by reading)."""
    asks = ("create a story", "write a story", "compose a story", "generate a story", "write a poem", "create a poem",
            "compose a poem", "generate a poem", "write an email", "create an email", "write a letter", "create a dialogue",
            "write a short story", "compose a short story", "generate a short story", "write a script", "create a script")
    asked = [r for r in rows if re.match("(?:" + "|".join(asks) + r")\b", r["instruction"].lower())]
    assert len(asked) >= 20
    assert [r["instruction"] for r in asked if requested_genre(r["instruction"]) is None] == []
