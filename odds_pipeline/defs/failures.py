"""Why a run failed, in the words of the errors its steps raised."""

import dagster as dg


def failure_messages(events: list[dg.DagsterEvent]) -> list[str]:
    """Why each failed step failed, in the words of the error it raised."""
    messages = []
    for event in events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            text = data.user_failure_data.description
        else:
            text = data.error.message.strip() if data.error else event.message or "failed"
        messages.append(f"{event.step_key}: {text}")
    return messages
