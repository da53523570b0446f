"""The offline policy's word lists, per category: patterns (regular expressions on normalised
text: lower case, accents and look-alike digits folded, punctuation as spaces) and the score a
match gives. Scores are evidence, not verdicts: a category is flagged when its score reaches
the deployment's threshold (0.5 unless set), so 0.3 terms only count in combination.

Lists like these are a floor, not a wall: they stop the plain asks an operator must refuse,
offline. Deployments that need more set ``moderation_url`` (an OpenAI-compatible
``/v1/moderations``) as well.
"""

from __future__ import annotations

Patterns = tuple[tuple[str, float], ...]

SEXUAL: Patterns = (
    (r"\bporn\w*", 0.95),
    (r"\bhaving sex\b|\bsex scene\b|\bsex act\w*|\bsexual intercourse\b|\bintercourse\b", 0.95),
    (r"\b(explicit|hardcore|graphic) (sex|sexual|nudity)\b", 0.95),
    (r"\bnsfw\b|\bxxx\b|\bhentai\b|\bblow ?job\b|\bhand ?job\b|\bmasturbat\w*|\borgasm\w*", 0.9),
    (r"\b(genitals?|penis|vagina|erect nipples?)\b", 0.9),
    (r"\b(naked|nude|nudity|topless|bottomless|undress\w*|strip ?tease|stripping)\b", 0.7),
    (r"\berotic\w*|\bsexual(ly)?\b|\bsex\b|\bseductive\w*", 0.6),
    (r"\bsexy\b|\blingerie\b|\bbikini\b|\bunderwear\b", 0.3),
)
# Words that, next to a sexual term, make it about someone under age.
MINOR: Patterns = (
    (r"\b(child|children|kid|kids|minor|minors|underage|under age|preteen|pre teen)\b", 1.0),
    (r"\b(toddler|infant|baby|babies|schoolgirl|schoolboy|school girl|school boy)\b", 1.0),
    (r"\b(little|young) (girl|boy)s?\b|\bteen\w*\b|\bjailbait\b|\bloli\w*|\bshota\w*", 1.0),
    (r"\b(1[0-7]|[1-9]) ?(years? old|year old|yo|y o)\b", 1.0),
)
# Asks that are about minors and sexual by themselves.
SEXUAL_MINORS: Patterns = (
    (r"\bchild (porn\w*|sex\w*|abuse material)\b|\bcsam\b|\bpedo\w*|\bpaedo\w*", 1.0),
)
# "nude" as a colour is not nudity.
NOT_SEXUAL = r"\bnude (colou?r\w*|tones?|lipstick|heels|shoes|shade\w*|palette|makeup)\b"

VIOLENCE_GRAPHIC: Patterns = (
    (r"\bgore\b|\bgory\b|\bdismember\w*|\bdecapitat\w*|\bbehead\w*|\bdisembowel\w*", 0.9),
    (r"\bmutilat\w*|\bentrails\b|\bguts spill\w*|\bexploding heads?\b|\bflay\w*", 0.9),
    (
        r"\b(tortur\w*|massacre\w*|mass shooting|firing squad|slaughter\w* (people|civilians))\b",
        0.75,
    ),
    (
        r"\b(shoots?|shooting|stabs?|stabbing|kills?|killing|murder\w*) (people|a person|him|her"
        r"|them|children|civilians|crowd)\b",
        0.75,
    ),
    (r"\b(pools? of blood|covered in blood|blood (spurting|splatter\w*|everywhere))\b", 0.7),
    (r"\b(corpses?|dead bod(y|ies)|bloody|blood)\b", 0.3),
)

SELF_HARM: Patterns = (
    (r"\bsuicid\w*|\bself ?harm\w*|\bkill(ing)? (myself|himself|herself|themselves)\b", 0.9),
    (
        r"\b(cut|cutting|slit\w*) (my|his|her|their) (wrists?|arms?)\b|\bhang(ing)? (myself|himself"
        r"|herself)\b",
        0.9,
    ),
    (r"\bjump(s|ing)? off (a|the) (bridge|building|roof)\b", 0.6),
    (r"\boverdos\w*", 0.4),
)

# Groups people are attacked for being; hate is an attack on one, not a mention of it.
_GROUP = (
    r"(jews?|jewish people|muslims?|christians?|hindus?|sikhs?|black people|blacks|white people"
    r"|asians?|arabs?|latinos?|mexicans?|immigrants?|refugees?|gays?|lesbians?|gay people"
    r"|trans people|transgender people|women|disabled people|roma|gypsies)"
)
HATE: Patterns = (
    (rf"\b(kill|exterminate|gas|eradicate|wipe out|get rid of) (all (the )?)?{_GROUP}\b", 0.95),
    (
        rf"\b{_GROUP} (are|is) (vermin|subhuman|animals|rats|cockroaches|parasites|a disease"
        r"|inferior|evil)\b",
        0.95,
    ),
    (
        r"\b(nazi|neo nazi|white power|white supremac\w*|kkk|ku klux klan|ethnic cleansing"
        r"|heil hitler|swastika flags?|hate rally)\b",
        0.8,
    ),
    (rf"\bgenocide (of|against) {_GROUP}\b", 0.95),
)

# Real people whose likeness a generator must not fake: heads of state and government,
# political leaders and the most imitated public figures (a floor; extend per deployment).
PUBLIC_FIGURES: tuple[str, ...] = (
    "joe biden", "donald trump", "kamala harris", "barack obama", "michelle obama",
    "hillary clinton", "bill clinton", "george w bush", "mike pence", "jd vance",
    "vladimir putin", "xi jinping", "narendra modi", "emmanuel macron", "olaf scholz",
    "friedrich merz", "keir starmer", "rishi sunak", "boris johnson", "justin trudeau",
    "mark carney", "volodymyr zelensky", "zelenskyy", "benjamin netanyahu", "recep tayyip erdogan",
    "kim jong un", "ali khamenei", "giorgia meloni", "pedro sanchez", "luiz inacio lula",
    "javier milei", "claudia sheinbaum", "fumio kishida", "shigeru ishiba", "yoon suk yeol",
    "lee jae myung", "anthony albanese", "cyril ramaphosa", "king charles", "prince william",
    "princess diana", "pope francis", "pope leo", "dalai lama", "angela merkel",
    "ursula von der leyen", "elon musk", "mark zuckerberg", "jeff bezos", "bill gates",
    "sam altman", "taylor swift", "beyonce", "rihanna", "kim kardashian", "kanye west",
    "oprah winfrey", "tom cruise", "tom hanks", "scarlett johansson", "emma watson",
    "leonardo dicaprio", "brad pitt", "angelina jolie", "keanu reeves", "dwayne johnson",
    "morgan freeman", "cristiano ronaldo", "lionel messi", "lebron james", "greta thunberg",
)  # fmt: skip
IMPERSONATION: Patterns = (
    (
        r"\bdeep ?fake\w*|\bimpersonat\w*|\bpretend\w* to be (the )?(president|prime minister"
        r"|king|pope|ceo|senator|minister)\b",
        0.9,
    ),
    (
        r"\b(the )?(us |american |french |russian |chinese )?(president|prime minister|chancellor"
        r"|pope) (of \w+ )?(says|saying|announc\w*|declar\w*|confess\w*|admit\w*)\b",
        0.75,
    ),
)

_ELECTION = (
    r"(election\w*|ballots?|polling (station|place|booth)s?|voting (machine|booth)s?|votes?"
    r"|voters?|vote counting|electoral|campaign rally)"
)
# An election term and a rigging term anywhere in the prompt: a deepfake of an election.
RIGGING = r"\b(rigged|fraud\w*|stuff\w*|stolen|fake[ds]?|destroy\w*|shred\w*|tamper\w*|hack\w*)\b"
ELECTION = rf"\b{_ELECTION}\b"
