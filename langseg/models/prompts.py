"""SD prompts of the AggSD pass and the mapping from class names to prompt token columns.

See docs/spec.md §1.3.

Pure given a tokenizer: any callable with the Hugging Face interface
``tokenizer(text, add_special_tokens=...)["input_ids"] -> list[int]`` whose encoding of a prompt
is ``[SOS] + words + [EOS]`` (the CLIP tokenizer of SD 1.5).

Fidelity ``report`` reproduces the code: one prompt, every occurrence of a label's token
subsequence is matched (all positions of all matches averaged into the first one), an over-long
prompt is an error. ``corrected`` matches each name only at its own place in the prompt and splits
over-long prompts into chunks (see :func:`plan_gt_prompts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langseg.params import Fidelity

MAX_TOKENS = 77  # CLIP text encoder context length, SOS and EOS included

Tokenizer = Callable[..., dict]


def report_prompt(class_names: Sequence[str]) -> str:
    """``"A photo of c1, c2, and c3"`` (Oxford comma; one name: ``"A photo of c1"``)."""
    names = list(class_names)
    if not names:
        raise ValueError("an AggSD prompt needs at least one class name")
    if len(names) == 1:
        return f"A photo of {names[0]}"
    return "A photo of " + ", ".join(names[:-1]) + ", and " + names[-1]


def _ids(tokenizer: Tokenizer, text: str, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def find_all_occurrences(prompt_ids: Sequence[int], label_ids: Sequence[int]) -> list[int]:
    """All positions covered by every match of ``label_ids`` in ``prompt_ids``, in order (as coded).

    ``[5, 7, 5, 7]`` in ``[0, 5, 7, 9, 5, 7]`` -> ``[1, 2, 4, 5]``.
    """
    n = len(label_ids)
    positions: list[int] = []
    for start in range(len(prompt_ids) - n + 1):
        if list(prompt_ids[start:start + n]) == list(label_ids):
            positions.extend(range(start, start + n))
    return positions


@dataclass(frozen=True)
class PromptChunk:
    """One UNet pass of the AggSD prompt.

    Attributes:
        text: the prompt string.
        token_ids: its ids incl. SOS (position 0) and EOS, unpadded.
        label_indices: per class of this chunk, the token positions averaged into its column.
        class_slots: per class of this chunk, its index in the image's class list.
    """

    text: str
    token_ids: tuple[int, ...]
    label_indices: tuple[tuple[int, ...], ...]
    class_slots: tuple[int, ...]

    @property
    def class_columns(self) -> tuple[int, ...]:
        """CA column of each class of the chunk: its first token position."""
        return tuple(lids[0] for lids in self.label_indices)


def _own_positions(tokenizer: Tokenizer, names: Sequence[str], ids: Sequence[int]) -> list[tuple]:
    """Token positions of each name at its own place in ``report_prompt(names)``."""
    out = []
    for i, name in enumerate(names):
        prefix = report_prompt(names)[: _name_offset(names, i)]
        start = 1 + len(_ids(tokenizer, prefix, special=False))
        label = _ids(tokenizer, name, special=False)
        if list(ids[start:start + len(label)]) != label:
            raise ValueError(f"class name {name!r} does not tokenize on its own inside the prompt")
        out.append(tuple(range(start, start + len(label))))
    return out


def _name_offset(names: Sequence[str], i: int) -> int:
    """Character offset of ``names[i]`` in :func:`report_prompt`."""
    if len(names) == 1:
        return len("A photo of ")
    head = "A photo of " + "".join(n + ", " for n in names[:i])
    return len(head) + (len("and ") if i == len(names) - 1 else 0)


def _make_chunk(tokenizer, names, slots, fidelity: Fidelity) -> PromptChunk:
    text = report_prompt(names)
    ids = _ids(tokenizer, text, special=True)
    if fidelity is Fidelity.REPORT:
        indices = []
        for name in names:
            found = find_all_occurrences(ids, _ids(tokenizer, name, special=False))
            if not found:
                raise ValueError(f"class name {name!r} not found in the tokens of {text!r}")
            indices.append(tuple(found))
    else:
        indices = _own_positions(tokenizer, names, ids)
    return PromptChunk(text, tuple(ids), tuple(indices), tuple(slots))


def plan_gt_prompts(
    tokenizer: Tokenizer,
    class_names: Sequence[str],
    fidelity: Fidelity,
    *,
    max_tokens: int = MAX_TOKENS,
) -> list[PromptChunk]:
    """Prompt(s) of the AggSD pass for one image's ground-truth class names.

    ``report``: one chunk; a prompt longer than ``max_tokens`` raises ValueError naming the
    classes and the token count. ``corrected``: classes are packed greedily, in order, into as
    few prompts of at most ``max_tokens`` tokens as possible, each with its own SOS. Merging
    (done by the caller): the SOS column comes from the first chunk, each class column from the
    chunk that contains the class.

    Returns:
        list of :class:`PromptChunk`; their ``class_slots`` cover ``range(len(class_names))``.
    """
    names = list(class_names)
    whole = _make_chunk(tokenizer, names, range(len(names)), fidelity)
    if len(whole.token_ids) <= max_tokens:
        return [whole]
    if fidelity is Fidelity.REPORT:
        raise ValueError(
            f"the AggSD prompt for classes {names} has {len(whole.token_ids)} tokens, more than "
            f"the text encoder's {max_tokens}; use fidelity 'corrected' (splits the prompt)")
    chunks: list[PromptChunk] = []
    current: list[int] = []
    for slot in range(len(names)):
        trial = _make_chunk(tokenizer, [names[s] for s in current + [slot]], current + [slot],
                            fidelity)
        if len(trial.token_ids) <= max_tokens:
            current.append(slot)
            continue
        if not current:
            raise ValueError(f"class name {names[slot]!r} alone exceeds {max_tokens} tokens")
        chunks.append(_make_chunk(tokenizer, [names[s] for s in current], current, fidelity))
        current = [slot]
    chunks.append(_make_chunk(tokenizer, [names[s] for s in current], current, fidelity))
    return chunks
