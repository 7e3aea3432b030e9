"""Judge prompts rendered exactly as FastChat's `run_judge_single` renders them."""

from __future__ import annotations

from dataclasses import dataclass

from evalsuite.judging.definitions import JudgeDefinition


@dataclass(frozen=True)
class RenderedPrompt:
    """One judge request: the FastChat prompt name, the user prompt and the OpenAI messages."""

    prompt_name: str
    user_prompt: str
    messages: list[dict[str, str]]


def prompt_name_for(definition: JudgeDefinition, category: str, turn: int) -> str:
    """single-v1 / single-math-v1 (turn 1) or their -multi-turn variants (turn 2)."""
    slot = f"turn{turn}" + ("_reference" if category in definition.reference_categories else "")
    return definition.prompt_names[slot]


def render_judge_prompt(
    definition: JudgeDefinition,
    judge_prompts: dict[str, dict],
    question: dict,
    answer_turns: list[str],
    turn: int,
    reference: dict | None,
) -> RenderedPrompt:
    """FastChat's user prompt (str.format of the template) and [system, user] messages.

    The reference answer is used only for the reference categories, as FastChat's gen_judgment.
    """
    name = prompt_name_for(definition, question["category"], turn)
    template = judge_prompts[name]
    kwargs: dict[str, str] = {}
    if question["category"] in definition.reference_categories and reference is not None:
        ref_turns = reference["choices"][0]["turns"]
        kwargs["ref_answer_1"] = ref_turns[0]
        if turn == 2:
            kwargs["ref_answer_2"] = ref_turns[1]
    if turn == 2:
        user_prompt = template["prompt_template"].format(
            question_1=question["turns"][0],
            question_2=question["turns"][1],
            answer_1=answer_turns[0],
            answer_2=answer_turns[1],
            **kwargs,
        )
    else:
        user_prompt = template["prompt_template"].format(
            question=question["turns"][0], answer=answer_turns[0], **kwargs
        )
    messages = []
    # FastChat's Conversation.to_openai_api_messages drops an empty system message.
    if template["system_prompt"]:
        messages.append({"role": "system", "content": template["system_prompt"]})
    messages.append({"role": "user", "content": user_prompt})
    return RenderedPrompt(name, user_prompt, messages)
