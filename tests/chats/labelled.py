"""The labelled synthetic conversations the indicator rules are measured on.

Every text is synthetic and NON-EXPLICIT: risk-pattern conversations use indicator phrases only
(age asked or stated, secrecy, platform moves, picture requests, gifts, meetings, flattery), and
the benign ones are the look-alikes the rules must not rank high: a parent and child arranging
pick-ups and swapping photos, a family planning a surprise, a sports club arranging to meet,
one-time codes and delivery texts, friends making plans. Some risk-pattern conversations are
deliberately subtle (one or two weak indicators): the measured recall says what they miss.

    python -m tests.chats.labelled      # rewrites tests/chats/labelled.jsonl
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SET_PATH = HERE / "labelled.jsonl"
SEED = 20231114

ADULT, CHILD = "contact-adult", "contact-child"

RISK = {
    "age-asked": ["asl?", "ASL", "how old r u", "how old are you?",
                  "what year are you in at school", "wat year r u in", "what grade are you in",
                  "so how old are u"],
    "secrecy": ["this stays between us", "dont tell ur mum about me", "delete our messages ok",
                "wipe our chats after", "its our little secret", "ur parents cant know",
                "n0 one needs to know", "keep this secret ok", "DON'T TELL ANYONE about us"],
    "platform": ["add me on snap", "whats ur snapchat", "lets talk on kik", "add me on insta",
                 "give me ur number", "switch to telegram its better", "go to private"],
    "images": ["send me a pic", "send a selfie", "can i see a pic of u", "pls send pics",
               "turn on ur camera", "what r u wearing", "send me a photo of you"],
    "gifts": ["i'll buy you a phone", "i can get u robux", "i will send you money",
              "i could buy you a new iphone", "free vbucks if u want", "how much do u want"],
    "meeting": ["lets meet at the park", "we should meet up", "i can pick you up",
                "where do u live", "r u home alone", "can we meet saturday"],
    "flattery": ["ur so mature for ur age", "you're so mature", "they dont get you like i do",
                 "only i understand you", "u can trust me", "u seem older than 12"],
}
CHILD_AGE = ["im 12", "i'm 13", "I AM 14", "13yo", "im in year 8", "i'm in year 7",
             "im 11 lol", "I'm 15 years old"]
FILLER = ["hey", "hi", "lol", "what u doing", "nm just chilling", "cool", "haha", "ok",
          "yeah", "brb", "sure", "nice"]

BENIGN = {
    "parent": [
        ("child", "can you pick me up at 5"), ("parent", "yes I'll pick you up from school"),
        ("parent", "send me a photo when you get there"), ("child", "here's a pic from the trip"),
        ("parent", "meet you at the gate"), ("parent", "dinner at 6, love you"),
        ("parent", "i'm 12 minutes away"), ("child", "dont forget my PE kit"),
        ("child", "i am 10 mins late sorry"), ("parent", "did you eat lunch"),
        ("child", "can i go to sams after"), ("parent", "ok but home by 7"),
        ("parent", "send me a pic of the timetable"), ("child", "mum can you buy me trainers"),
        ("parent", "where are you? text me when you're at the bus stop"),
    ],
    "surprise": [
        ("a", "don't tell dad, it's a surprise party"),
        ("b", "keep it secret, his birthday surprise"),
        ("a", "let's meet at the hall at 6 to set up"), ("b", "i'll buy the cake"),
        ("a", "we should buy him a present"), ("b", "don't tell anyone about the party!"),
        ("a", "delete these messages so he doesn't see the surprise"),
        ("b", "send me a photo of the banner"), ("a", "he turns 50 on saturday"),
    ],
    "club": [
        ("coach", "training at the park saturday 10am"),
        ("coach", "meet at the club at 9 for the match"),
        ("parent", "send pics of the match please"), ("coach", "u12s kick off at 11"),
        ("coach", "under 13s fixture moved to sunday"),
        ("parent", "can we meet at the club for kit"),
        ("coach", "great effort today team"), ("parent", "my son is 12 and wants to join"),
        ("coach", "send me a photo of the consent form"),
    ],
    "otp": [
        ("bank", "Your code is 493021. Don't share it with anyone."),
        ("bank", "Never tell anyone your PIN. Your verification code is 1122."),
        ("courier", "Your parcel will be delivered today between 1pm and 3pm"),
        ("courier", "Send a photo of your door so the driver can find you"),
        ("courier", "Please meet the driver at the door to sign"),
        ("shop", "Your order has shipped! Track it in the app"),
        ("bank", "do not share this code: 8812. We will never ask for it"),
    ],
    "friends": [
        ("a", "lets meet at the cinema at 7"), ("b", "send me the homework pic"),
        ("a", "omg that was so funny"), ("b", "what time is the bus"), ("a", "add me on insta"),
        ("b", "i'm 5 mins away"), ("a", "we should meet up at the shops"),
        ("b", "can i see a pic of your new dog"), ("a", "haha yes"),
    ],
}


def _vary(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        return text.upper()
    if roll < 0.35:
        return text.capitalize() + rng.choice(["!", "?", "..", " x"])
    return text


def _risk(rng: random.Random, index: int) -> dict[str, object]:
    subtle = index % 6 == 5
    kinds = rng.sample(sorted(RISK), 1 if subtle else rng.randint(2, 5))
    messages: list[dict[str, str]] = []
    for _ in range(rng.randint(1, 3)):
        messages.append({"from": rng.choice([ADULT, CHILD]), "text": rng.choice(FILLER)})
    if not subtle and rng.random() < 0.7:
        messages.append({"from": ADULT, "text": _vary(rng.choice(RISK["age-asked"]), rng)})
        messages.append({"from": CHILD, "text": _vary(rng.choice(CHILD_AGE), rng)})
    for kind in kinds:
        messages.append({"from": ADULT, "text": _vary(rng.choice(RISK[kind]), rng)})
        if rng.random() < 0.5:
            messages.append({"from": CHILD, "text": rng.choice(FILLER)})
    return {"id": f"risk-{index:03d}", "label": "risk", "subtle": subtle, "messages": messages}


def _benign(rng: random.Random, index: int) -> dict[str, object]:
    kind = sorted(BENIGN)[index % len(BENIGN)]
    pool = BENIGN[kind]
    lines = rng.sample(pool, rng.randint(3, min(7, len(pool))))
    messages = [{"from": f"{kind}-{who}", "text": _vary(text, rng)} for who, text in lines]
    return {"id": f"benign-{kind}-{index:03d}", "label": "benign", "kind": kind,
            "messages": messages}


def build() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    return [_risk(rng, i) for i in range(60)] + [_benign(rng, i) for i in range(100)]


def load() -> list[dict[str, object]]:
    with SET_PATH.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


if __name__ == "__main__":
    with SET_PATH.open("w", encoding="utf-8") as fh:
        for conversation in build():
            fh.write(json.dumps(conversation, sort_keys=True) + "\n")
