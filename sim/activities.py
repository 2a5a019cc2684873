"""The activities of the event log and the lifecycle state machine they must follow.

Written once here and used by the model (to record), by the indicators (to read) and by the
tests (to check every order's path).  Codes are small ints so the log stays compact.
"""

from __future__ import annotations

from enum import IntEnum


class Act(IntEnum):
    ARRIVE = 0  # 派单: created by the city hotline and dispatched to a unit (or to the centre)
    SIGN = 1  # 签收: the unit (or the district centre, unit -1) acknowledges the order
    RETURN = 2  # 退单: a unit that is not responsible sends it back
    REDISPATCH = 3  # 改派: the centre dispatches it again
    START = 4  # a handler starts work (办理); value = handler-hours this round takes
    REPLY = 5  # 回复: the unit replies; due = the (extended) standard deadline in force
    SENDBACK = 6  # 退回重办: the centre's review rejects the reply
    CALLBACK = 7  # 回访: outcome 0 unreached, 1 满意, 2 基本满意, 3 不满意; value (reached only):
    # the citizen's answer to "was the problem resolved?", 1 已解决 / 0 未解决 (NaN: unreached)
    CLOSE = 8  # 办结
    REOPEN = 9  # 重办: a dissatisfied citizen's order is handled again
    EXTEND = 10  # 延期: outcome 1 approved (due = new deadline), 0 refused
    WARN = 11  # 预警: supervision warns of a near deadline
    REMIND = 12  # 催办: supervision chases an overdue order
    CRITICISE = 13  # 通报: long overdue, publicly criticised
    WORK = 14  # 附加办理: handler time a policy books on an order (value = handler-hours)
    ESCALATE = 15  # 提级督办: the n-th reopen escalates the order (due = the round's deadline)
    # a forecast's carried-in order, at time 0 (sim.forecast): due = the deadline in force,
    # value = its age (clock hours since arrival), outcome = its stage (sim.forecast.snapshot.STAGES)
    SNAPSHOT = 16
    # system events (order = -1): what the mechanisms did
    CAPACITY = 20  # 月调度: temporary handlers moved to a unit (value = change)
    ASSESS = 21  # 考核: monthly assessment adjusts a unit's effort (value = speed factor)
    PLAN = 22  # 克难方案: a resolution plan adopted for a topic (value = topic index)
    # 考核得分: a unit's monthly assessment score for the month that just ended (recorded at
    # the month's end for every ranked unit; value = score; the rank follows from the scores)
    SCORE = 23


ACTIVITY_NAMES = {
    Act.ARRIVE: "arrive",
    Act.SIGN: "sign",
    Act.RETURN: "return",
    Act.REDISPATCH: "redispatch",
    Act.START: "start",
    Act.REPLY: "reply",
    Act.SENDBACK: "sendback",
    Act.CALLBACK: "callback",
    Act.CLOSE: "close",
    Act.REOPEN: "reopen",
    Act.EXTEND: "extend",
    Act.WARN: "warn",
    Act.REMIND: "remind",
    Act.CRITICISE: "criticise",
    Act.WORK: "work",
    Act.ESCALATE: "escalate",
    Act.SNAPSHOT: "snapshot",
    Act.CAPACITY: "capacity",
    Act.ASSESS: "assess",
    Act.PLAN: "plan",
    Act.SCORE: "score",
}

ACTIVITY_CHINESE = {
    Act.ARRIVE: "派单",
    Act.SIGN: "签收",
    Act.RETURN: "退单",
    Act.REDISPATCH: "改派",
    Act.START: "办理",
    Act.REPLY: "回复",
    Act.SENDBACK: "退回重办",
    Act.CALLBACK: "回访",
    Act.CLOSE: "办结",
    Act.REOPEN: "重办",
    Act.EXTEND: "延期",
    Act.WARN: "预警",
    Act.REMIND: "催办",
    Act.CRITICISE: "通报",
    Act.WORK: "附加办理",
    Act.ESCALATE: "提级督办",
    Act.SNAPSHOT: "结转",
    Act.CAPACITY: "月调度",
    Act.ASSESS: "考核",
    Act.PLAN: "克难方案",
    Act.SCORE: "考核得分",
}

CENTRE = -1  # the district hotline centre (总客服) in the log's unit column

CALLBACK_OUTCOMES = {0: "unreached", 1: "satisfied", 2: "basically_satisfied", 3: "dissatisfied"}
CALLBACK_OUTCOMES_CHINESE = {0: "未接通", 1: "满意", 2: "基本满意", 3: "不满意"}
EXTEND_OUTCOMES = {0: "refused", 1: "approved"}
EXTEND_OUTCOMES_CHINESE = {0: "不予延期", 1: "准予延期"}
# a reached callback's answer on resolution (the CALLBACK event's value)
RESOLUTION = {0: "unresolved", 1: "resolved"}
RESOLUTION_CHINESE = {0: "未解决", 1: "已解决"}
UNRESOLVED, RESOLVED = 0, 1
CENTRE_NAME = "热线中心 centre"  # the centre's name wherever a unit name is shown
SYSTEM_ACTS = (Act.CAPACITY, Act.ASSESS, Act.PLAN, Act.SCORE)  # the mechanisms' own events (order -1)
UNREACHED, SATISFIED, BASIC, DISSATISFIED = 0, 1, 2, 3

# Main path: after the last main activity, which main activity may come next.
# (None = no event yet.)
NEXT = {
    None: {Act.ARRIVE},
    # SNAPSHOT: an order dispatched at a warm start's start itself (the initial backlog) is
    # carried in right after its ARRIVE (sim.model.warm)
    Act.ARRIVE: {Act.SIGN, Act.SNAPSHOT},
    Act.SIGN: {Act.RETURN, Act.START, Act.REPLY},  # REPLY directly: centre answers (一个模式)
    Act.RETURN: {Act.REDISPATCH},
    Act.REDISPATCH: {Act.SIGN},
    Act.START: {Act.REPLY},
    Act.REPLY: {Act.SENDBACK, Act.CALLBACK, Act.CLOSE},  # CLOSE directly: not sampled for a callback
    Act.SENDBACK: {Act.START},
    Act.CALLBACK: {Act.CLOSE},
    Act.CLOSE: {Act.REOPEN},
    Act.REOPEN: {Act.START, Act.ESCALATE},
    Act.ESCALATE: {Act.START},  # the escalated round is handled like any other, with priority
    # a carried-in order (sim.model.warm: a forecast's, the initial backlog) resumes at its
    # stage: any step may follow
    Act.SNAPSHOT: {Act.SIGN, Act.RETURN, Act.REDISPATCH, Act.START, Act.REPLY, Act.SENDBACK,
                   Act.CALLBACK, Act.CLOSE},
}
NEXT[None] = NEXT[None] | {Act.SNAPSHOT}

# Side activities do not move the order; they may happen while it awaits its reply.
SIDE = {Act.EXTEND, Act.WARN, Act.REMIND, Act.CRITICISE}
SIDE_ALLOWED_AFTER = {Act.SIGN, Act.START, Act.SENDBACK, Act.REOPEN, Act.ESCALATE, Act.SNAPSHOT}
# Policy work (e.g. 先行联系, a first call to the citizen) may fall at any time after arrival.
ANYTIME = {Act.WORK}


def check_path(acts: list[int]) -> str | None:
    """None if ``acts`` (one order's activities in time order) is a legal lifecycle path,
    else a sentence saying where it breaks."""
    state: Act | None = None
    for i, code in enumerate(acts):
        act = Act(code)
        if act in ANYTIME:
            if state is None:
                return f"event {i}: {ACTIVITY_NAMES[act]} before arrival"
            continue
        if act in SIDE:
            if state not in SIDE_ALLOWED_AFTER:
                return f"event {i}: {ACTIVITY_NAMES[act]} after {state and ACTIVITY_NAMES[state]}"
            continue
        if act not in NEXT.get(state, set()):
            return f"event {i}: {ACTIVITY_NAMES[act]} after {state and ACTIVITY_NAMES[state]}"
        state = act
    return None
