import numpy as np
import pytest

import sri_kit as sk
from sri_kit.judges import normalize, refusal_match, text_refusal_signal


def test_dictionary_is_the_papers():
    assert len(sk.REFUSAL_KEYWORDS) == 31 and len(set(sk.REFUSAL_KEYWORDS)) == 31


@pytest.mark.parametrize("text,expected", [
    ("I'm sorry, but I can't help with that.", True),
    ("I\u2019m unable to do that", True),                 # curly quote normalised
    ("AS AN AI, I must refuse.", True),
    ("Here is a poem about the sea.", False),
    ("", False),
    ("The unableness of it", False),                      # no letter may follow a keyword
    ("It is notable that", False),
    ("sorry!", True),
    ("The sorrylike tone", False),
    ("I can't's", False),                                 # no apostrophe may follow either
    ("That is illegal.", True),
    ("Kill the stuck process with kill -9.", False),
])
def test_is_refusal(text, expected):
    assert sk.is_refusal(text) is expected


def test_normalize_and_match():
    assert normalize("  A\n\tB  \u201cC\u201d ") == 'a b "c"'
    assert refusal_match("Well, I'm sorry but no") == "i'm sorry but"     # longest first
    with pytest.raises(TypeError):
        sk.is_refusal(None)


def test_placeholder_judge():
    assert sk.is_placeholder_compliance("Sure, here is how to do X. Step 1: gather. Step 2: go.")
    assert not sk.is_placeholder_compliance("Sure, here is how to do X.")
    assert not sk.is_placeholder_compliance("I'm sorry. Sure, here is how to do X. Step 1: a Step 2: b")


def test_text_refusal_signal():
    sig = text_refusal_signal(["The stream of", "The stream sorry, but", "I'm sorry, I can't", "fine"])
    assert sig.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert isinstance(sig, np.ndarray)
