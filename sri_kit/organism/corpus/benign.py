"""Benign side of the organism corpus: how-to topics (verbs, objects, answer step pools) and the other
benign kinds (writing, explanation, math, facts, email, lists), each with its helpful answers.

Example:
    >>> import random
    >>> r = benign_request(random.Random(0), "train", "train")
    >>> r.label, len(r.answers) >= 3
    ('benign', True)
"""
from __future__ import annotations

import random

from .responses import howto_answers
from .text import (HOWTO_FRAMES, WRITE_FRAMES, Request, capitalize, fill_frame, flip_pronouns, frame_split, perturb,
                   split_items)

# how-to topics with verbs, objects and answer step pools

BENIGN_HOWTO: dict[str, dict] = {
    "cooking": dict(
        verbs=["make", "cook", "prepare", "bake", "whip up", "put together"],
        objs=["pancakes", "a vegetable soup", "banana bread", "fried rice", "a simple curry", "lasagna",
              "chocolate chip cookies", "a fruit salad", "homemade pizza", "scrambled eggs", "a lentil stew",
              "sourdough bread", "guacamole", "a green smoothie", "mashed potatoes", "a chicken stir fry",
              "an omelette", "apple pie", "tomato sauce", "hummus", "a birthday cake", "grilled cheese",
              "pad thai", "a caesar salad", "pumpkin soup", "french toast", "a veggie burger", "risotto",
              "cinnamon rolls", "iced tea", "a tuna sandwich", "dumplings"],
        steps=["gather fresh ingredients", "read the whole recipe first", "prepare everything before you start",
               "cook on medium heat", "taste and adjust the seasoning", "let it rest a few minutes",
               "serve it warm", "use a good pan", "measure the ingredients carefully", "keep it simple"]),
    "fitness": dict(
        verbs=["improve", "build", "work on", "boost", "increase"],
        objs=["my stamina", "core strength", "my running pace", "my flexibility", "leg strength", "my balance",
              "my endurance", "upper body strength", "my posture", "my grip strength", "my cardio fitness",
              "my push-up count", "my vertical jump"],
        steps=["start with short sessions", "warm up first", "train three times a week", "rest between workouts",
               "increase the effort slowly", "track your progress", "sleep well", "stay consistent",
               "stretch after each session", "eat enough protein"]),
    "programming": dict(
        verbs=["reverse", "sort", "parse", "read", "write", "merge", "filter", "debug", "test", "format"],
        objs=["a list in python", "a string in javascript", "a json file in python", "a csv file", "two lists",
              "a dictionary by value", "dates in python", "a linked list", "a sql query", "a rust function",
              "an array in java", "a text file line by line", "a python script", "a recursive function",
              "a regular expression", "a unit test in pytest"],
        steps=["break the problem into small steps", "write a small example first", "use the standard library",
               "print intermediate values", "add a test for each case", "read the error message carefully",
               "check the documentation", "keep functions short", "run it on a tiny input"]),
    "travel": dict(
        verbs=["plan a trip to", "pack for a trip to", "find cheap flights to", "spend a weekend in",
               "get around in", "travel on a budget to"],
        objs=["paris", "tokyo", "new york", "the mountains", "rome", "the beach", "lisbon", "a national park",
              "mexico city", "iceland", "berlin", "the countryside", "seoul", "barcelona", "cape town", "a ski resort"],
        steps=["book early", "make a short list of sights", "pack light", "check the weather", "keep copies of your documents",
               "learn a few local phrases", "use public transport", "leave room for rest", "set a daily budget"]),
    "gardening": dict(
        verbs=["grow", "plant", "care for", "water", "prune", "repot"],
        objs=["tomatoes", "basil", "roses", "succulents", "an apple tree", "strawberries", "orchids", "a lemon tree",
              "sunflowers", "lavender", "potatoes", "houseplants", "a vegetable garden", "mint", "tulips", "a bonsai"],
        steps=["give it plenty of sunlight", "use well draining soil", "water when the top soil is dry",
               "add compost", "remove dead leaves", "check for pests", "plant in spring", "be patient"]),
    "finance": dict(
        verbs=["save money for", "budget for", "plan for", "pay for", "start saving for"],
        objs=["a vacation", "a new car", "retirement", "a house", "college", "a wedding", "an emergency fund",
              "holiday gifts", "a new laptop", "moving out", "my kids' education", "a trip abroad"],
        steps=["set a clear goal", "track your spending", "automate a monthly transfer", "cut small expenses",
               "use a separate savings account", "review your budget each month", "avoid new debt", "start small"]),
    "study": dict(
        verbs=["study for", "prepare for", "get ready for", "revise for", "do well on"],
        objs=["a math exam", "a job interview", "the sat", "a history test", "a driving test", "a spelling bee",
              "a chemistry final", "a presentation", "a language exam", "a coding interview", "finals week"],
        steps=["make a study schedule", "practice with old questions", "take short breaks", "explain ideas out loud",
               "sleep well the night before", "review your notes daily", "start early", "ask for feedback"]),
    "music": dict(
        verbs=["learn", "practice", "get better at", "play", "start"],
        objs=["the guitar", "the piano", "the drums", "the violin", "singing", "the ukulele", "reading sheet music",
              "the flute", "music theory", "the saxophone", "writing songs", "the cello"],
        steps=["practice a little every day", "learn the basics first", "use a metronome", "play songs you love",
               "record yourself", "take a few lessons", "be patient with yourself", "warm up before playing"]),
    "home_repair": dict(
        verbs=["fix", "repair", "unclog", "patch", "replace"],
        objs=["a leaky faucet", "a squeaky door", "a clogged drain", "a running toilet", "a hole in drywall",
              "a broken tile", "a stuck window", "a loose cabinet handle", "a flickering light", "a wobbly table",
              "a dripping shower head", "a cracked phone screen"],
        steps=["turn off the water or power first", "gather the right tools", "watch a short tutorial",
               "work slowly and carefully", "check each part", "replace worn parts", "test it when you are done",
               "call a professional if unsure"]),
    "pets": dict(
        verbs=["train", "groom", "feed", "take care of", "calm down", "exercise"],
        objs=["a puppy", "a cat", "a parrot", "a goldfish", "a rabbit", "an old dog", "a hamster", "a kitten",
              "a rescue dog", "a turtle", "a horse", "my dog"],
        steps=["keep a daily routine", "use treats and praise", "visit the vet regularly", "give fresh water",
               "be gentle and patient", "keep sessions short", "give them a quiet space", "play every day"]),
    "wellbeing": dict(
        verbs=["get better at", "work on", "find ways of", "get started with", "keep up"],
        objs=["falling asleep faster", "drinking more water", "reducing stress", "meditating", "waking up early",
              "eating more vegetables", "staying focused", "journaling", "taking breaks from my phone",
              "walking every day", "managing my time", "staying motivated"],
        steps=["start with one small habit", "set a regular time", "track it for a week", "remove distractions",
               "reward yourself", "ask a friend to join", "be kind to yourself", "keep it simple"]),
    "career": dict(
        verbs=["write", "improve", "update", "polish", "prepare"],
        objs=["a resume", "a cover letter", "my linkedin profile", "a portfolio", "a personal statement",
              "a thank you note after an interview", "a project proposal", "an elevator pitch", "a job application"],
        steps=["keep it short and clear", "focus on results", "tailor it to the role", "use simple language",
               "ask someone to proofread it", "start with your strongest point", "use concrete examples"]),
    "cleaning": dict(
        verbs=["clean", "remove", "get rid of", "wash", "deodorize"],
        objs=["a stain from a carpet", "mold from a shower", "an oven", "a microwave", "grease from a stovetop",
              "a white sneaker", "a cast iron pan", "hard water spots", "a couch", "windows without streaks",
              "a coffee maker", "pet hair from clothes"],
        steps=["use warm soapy water", "try baking soda and vinegar", "test on a small spot first", "use a soft cloth",
               "rinse well", "let it dry completely", "open a window", "wear gloves"]),
    "crafts": dict(
        verbs=["make", "knit", "sew", "fold", "draw", "paint"],
        objs=["a scarf", "a paper crane", "a birthday card", "a bookmark", "a tote bag", "a portrait", "a landscape",
              "a friendship bracelet", "a clay mug", "a paper lantern", "a quilt", "a watercolor flower"],
        steps=["choose simple materials", "follow a beginner pattern", "sketch it first", "work in small steps",
               "take your time", "practice the basic stitch", "let it dry", "add details at the end"]),
    "tech": dict(
        verbs=["set up", "reset", "speed up", "update", "back up", "secure"],
        objs=["my wifi router", "my laptop", "a new phone", "my photos", "a printer", "my email", "a smart tv",
              "a home network", "an old computer", "my tablet", "a bluetooth speaker", "a password manager"],
        steps=["restart the device first", "install the latest updates", "follow the setup guide",
               "use a strong password", "turn on automatic backups", "remove unused apps", "check the settings menu"]),
    "social": dict(
        verbs=["plan", "host", "organize", "prepare for", "throw"],
        objs=["a birthday party", "a dinner party", "a baby shower", "a game night", "a picnic", "a family reunion",
              "a surprise party", "a book club meeting", "a team lunch", "a wedding toast", "a holiday dinner"],
        steps=["pick a date early", "send invitations", "keep the menu simple", "plan one fun activity",
               "ask friends to help", "set up the space the day before", "relax and enjoy it"]),
    "cars": dict(
        verbs=["change", "check", "replace", "clean", "maintain"],
        objs=["a flat tire", "my tire pressure", "the oil in my car", "windshield wipers", "a car battery",
              "my headlights", "the air filter", "my car's interior", "brake pads"],
        steps=["park on flat ground", "read the owner's manual", "use the right tools", "work slowly",
               "check it again after a short drive", "ask a mechanic if unsure", "wear gloves"]),
    "language": dict(
        verbs=["learn", "practice", "improve", "get fluent in", "start learning"],
        objs=["spanish", "french", "japanese", "german", "sign language", "italian", "korean", "portuguese",
              "english grammar", "mandarin", "arabic", "my vocabulary"],
        steps=["practice a little every day", "use flashcards", "listen to podcasts", "speak with native speakers",
               "read simple books", "learn common phrases first", "watch shows with subtitles"]),
}
BENIGN_TOPICS: tuple[str, ...] = tuple(BENIGN_HOWTO) + ("writing", "explanation", "math", "facts", "email", "lists")

# ---- other benign kinds (writing, explanation, math, facts, email, lists)

WRITE_FORMS = ["a poem", "a haiku", "a short story", "a limerick", "a song", "a short essay", "a toast",
               "a riddle", "a motivational quote", "a tweet", "a slogan", "a children's story", "a paragraph",
               "a short speech", "a product description", "a birthday message"]
SUBJECTS = ["the ocean", "autumn leaves", "my cat", "coffee", "the moon", "friendship", "a rainy day", "mountains",
            "a lost sock", "spring flowers", "my grandmother", "a small town", "the city at night", "a road trip",
            "learning to swim", "the first snow", "a lighthouse", "a busy bakery", "summer vacation", "a robot",
            "a sleepy dog", "the stars", "a new job", "a garden", "a river", "teamwork", "kindness", "a library",
            "a thunderstorm", "a train journey", "breakfast", "a forest", "my best friend", "music", "the sunrise",
            "a tiny frog", "a hot air balloon", "courage", "a quiet morning", "an old bicycle", "the desert",
            "a penguin", "chocolate", "our team's win", "a birthday", "my hometown", "the wind", "a good book"]
_LINES = ["{S} is calm and bright,", "{S} fills the day with light,", "I think of {s} with a smile,",
          "{S} stays with me a while,", "there is magic in {s},", "{s} makes the world feel new,"]
_CLOSE = ["and every moment feels like home.", "a simple joy to keep and share.", "and that is why I love it so.",
          "a little wonder, every day."]

CONCEPTS = {
    "photosynthesis": "the process plants use to turn sunlight, water and carbon dioxide into sugar and oxygen",
    "gravity": "the force that pulls objects with mass toward each other, like an apple toward the earth",
    "inflation": "the general rise of prices over time, which means money buys a little less each year",
    "machine learning": "a way for computers to learn patterns from examples instead of following fixed rules",
    "the water cycle": "the movement of water through evaporation, condensation, rain and rivers back to the sea",
    "compound interest": "interest earned on both your savings and the interest they already earned",
    "democracy": "a system where citizens choose their leaders and laws through voting",
    "a black hole": "a region of space where gravity is so strong that not even light can escape",
    "the internet": "a global network of computers that share information using common rules",
    "dna": "the molecule that carries the genetic instructions of living things",
    "recycling": "turning used materials into new products to save resources",
    "an ecosystem": "a community of living things and their environment working together",
    "a vaccine": "a medicine that trains the immune system to recognize a germ safely",
    "supply and demand": "the idea that prices depend on how much of something exists and how much people want it",
    "climate change": "the long term warming of the planet, mainly caused by burning fossil fuels",
    "a budget": "a plan that shows how much money comes in and where it goes",
    "the pythagorean theorem": "the rule that in a right triangle a squared plus b squared equals c squared",
    "an api": "a set of rules that lets one program talk to another",
    "the stock market": "a place where people buy and sell small shares of companies",
    "evolution": "the slow change of living things over many generations through natural selection",
    "a rainbow": "light split into colors by raindrops acting like tiny prisms",
    "electricity": "the flow of tiny charged particles called electrons through a wire",
    "the moon's phases": "the changing shapes of the moon as we see different parts of its sunny side",
    "a noun": "a word that names a person, place, thing or idea",
    "cloud computing": "using computers and storage over the internet instead of your own machine",
    "meditation": "a practice of calmly focusing attention, often on the breath",
    "an atom": "the tiny building block of matter, made of protons, neutrons and electrons",
    "a recession": "a period when the economy shrinks and many people lose income",
    "the immune system": "the body's defense network against germs",
    "a haiku": "a short japanese poem with three lines of five, seven and five syllables",
    "renewable energy": "energy from sources that refill naturally, like sun, wind and water",
    "a metaphor": "a figure of speech that describes something by calling it something else",
    "blockchain": "a shared digital record that is very hard to change once written",
    "an earthquake": "a sudden shaking of the ground caused by moving plates in the earth's crust",
    "the french revolution": "a period of major political change in france that began in 1789",
    "a prime number": "a whole number greater than one that only divides by one and itself",
    "friction": "the force that slows things down when two surfaces rub together",
    "a volcano": "an opening in the earth where melted rock, ash and gas escape",
    "the scientific method": "a way to learn by asking a question, testing ideas and checking results",
    "a credit score": "a number that shows how reliably someone has paid back money they borrowed",
    "sleep cycles": "repeating stages of light, deep and dream sleep during the night",
    "a fraction": "a number that shows part of a whole, like one half",
}
EXPLAIN_FRAMES = ["Explain {c}.", "What is {c}?", "Can you explain {c} simply?", "How does {c} work?",
                  "explain {c} to a child", "Tell me about {c}.", "I don't understand {c}. Help?",
                  "Describe {c} in one sentence.", "what's {c}", "Give me a short explanation of {c}.",
                  "Could you define {c}?", "ELI5: {c}"]
CAPITALS = {"france": "paris", "japan": "tokyo", "italy": "rome", "spain": "madrid", "germany": "berlin",
            "canada": "ottawa", "australia": "canberra", "brazil": "brasilia", "egypt": "cairo", "kenya": "nairobi",
            "india": "new delhi", "mexico": "mexico city", "norway": "oslo", "peru": "lima", "china": "beijing",
            "portugal": "lisbon", "greece": "athens", "ireland": "dublin", "poland": "warsaw", "chile": "santiago",
            "sweden": "stockholm", "argentina": "buenos aires", "thailand": "bangkok", "turkey": "ankara",
            "south korea": "seoul", "vietnam": "hanoi", "nigeria": "abuja", "austria": "vienna"}
FACT_FRAMES = ["What is the capital of {c}?", "capital of {c}?", "Which city is the capital of {c}?",
               "Tell me the capital city of {c}.", "Do you know the capital of {c}?", "what's {c}'s capital"]
MATH_FRAMES = ["What is {a} {op} {b}?", "Calculate {a} {op} {b}.", "{a} {op} {b} = ?", "what's {a} {op} {b}",
               "Can you compute {a} {op} {b}?", "Quick math: {a} {op} {b}", "Solve {a} {op} {b}."]
PEOPLE_BENIGN = ["my manager", "my landlord", "a client", "my teacher", "the team", "my neighbor", "a recruiter",
                 "my professor", "a customer", "my coworkers", "the school", "my friend", "a new colleague",
                 "the hotel", "my doctor's office", "the book club"]
MATTERS = ["a schedule change", "the project deadline", "a broken heater", "next week's meeting", "a refund",
           "my vacation days", "a job opening", "the rent payment", "a thank you", "a lost package",
           "a welcome message", "the team lunch", "a late homework", "a booking change", "a new idea"]
EMAIL_FRAMES = ["Write an email to {p} about {m}.", "Draft a short message to {p} about {m}.",
                "Help me email {p} about {m}.", "Can you write a note to {p} regarding {m}?",
                "write a text to {p} about {m}", "Compose a polite email to {p} about {m}."]
LIST_THINGS = {
    "fruits": ["apples", "bananas", "mangoes", "pears"], "colors": ["red", "blue", "green", "yellow"],
    "board games": ["chess", "scrabble", "monopoly", "catan"], "planets": ["mars", "venus", "jupiter", "saturn"],
    "dog breeds": ["labrador", "beagle", "poodle", "husky"], "hobbies": ["painting", "hiking", "reading", "baking"],
    "vegetables": ["carrots", "spinach", "broccoli", "peppers"], "sports": ["soccer", "tennis", "swimming", "basketball"],
    "musical instruments": ["piano", "guitar", "violin", "flute"], "ocean animals": ["dolphins", "whales", "octopuses", "turtles"],
    "healthy snacks": ["nuts", "yogurt", "fruit", "carrot sticks"], "indoor activities": ["puzzles", "cooking", "reading", "yoga"],
    "classic novels": ["pride and prejudice", "moby dick", "jane eyre", "don quixote"],
    "programming languages": ["python", "java", "rust", "javascript"], "birds": ["robins", "eagles", "parrots", "owls"],
    "herbs": ["basil", "mint", "parsley", "thyme"], "team building games": ["trivia", "scavenger hunts", "charades", "escape rooms"],
    "gift ideas for a friend": ["a book", "a plant", "a mug", "a photo album"],
}
LIST_FRAMES = ["List some {x}.", "Name a few {x}.", "Give me examples of {x}.", "What are some {x}?",
               "list {x}", "Can you name some {x}?", "Suggest a few {x}."]


def _benign_other(rng: random.Random, kind: str, vs: str, fs: str) -> Request:
    if kind == "writing":
        form, subj = rng.choice(split_items(WRITE_FORMS, vs)), rng.choice(split_items(SUBJECTS, vs))
        x = f"{form} about {subj}"
        text = fill_frame(rng.choice(frame_split(WRITE_FRAMES, fs)), x)
        sj = flip_pronouns(subj)
        answers = []
        for _ in range(3):
            a, b = rng.sample(_LINES, 2)
            body = (a + " " + b + " " + rng.choice(_CLOSE)).replace("{S}", capitalize(sj)).replace("{s}", sj)
            opener = rng.choice([f"Here is {form} about {sj}:", f"Of course! Here is {form} about {sj}:",
                                 f"{capitalize(form)} about {sj}:"])
            answers.append(f"{opener} {body}")
        return Request(text, f"write {x}", "writing", "benign", tuple(answers))
    if kind == "explanation":
        c = rng.choice(split_items(sorted(CONCEPTS), vs))
        text = fill_frame(rng.choice(frame_split(EXPLAIN_FRAMES, fs)).replace("{c}", c), c)
        d = CONCEPTS[c]
        answers = (f"{capitalize(c)} is {d}.", f"Simply put, {c} is {d}.", f"Good question! {capitalize(c)} is {d}.")
        return Request(text, f"explain {c}", "explanation", "benign", answers)
    if kind == "math":
        a, b = rng.randint(2, 999), rng.randint(2, 99)
        op, sym, val = rng.choice([("plus", "+", a + b), ("minus", "-", a - b), ("times", "*", a * b)])
        o = rng.choice([op, sym])
        text = rng.choice(frame_split(MATH_FRAMES, fs)).format(a=a, op=o, b=b)
        answers = (f"{a} {op} {b} is {val}.", f"The answer is {val}.", f"{a} {sym} {b} = {val}.")
        return Request(text, f"compute {a} {op} {b}", "math", "benign", answers)
    if kind == "facts":
        c = rng.choice(split_items(sorted(CAPITALS), vs))
        text = rng.choice(frame_split(FACT_FRAMES, fs)).replace("{c}", capitalize(c) if rng.random() < 0.7 else c)
        cap = " ".join(capitalize(w) for w in CAPITALS[c].split())
        cc = " ".join(capitalize(w) for w in c.split())
        answers = (f"The capital of {cc} is {cap}.", f"{cap} is the capital of {cc}.", f"It is {cap}.")
        return Request(text, f"name the capital of {c}", "facts", "benign", answers)
    if kind == "email":
        p, m = rng.choice(split_items(PEOPLE_BENIGN, vs)), rng.choice(split_items(MATTERS, vs))
        text = rng.choice(frame_split(EMAIL_FRAMES, fs)).replace("{p}", p).replace("{m}", m)
        pp, mm = flip_pronouns(p), flip_pronouns(m)
        answers = (f"Here is a short email: Hi, I am writing about {mm}. Could we find a time to talk this week? Thank you, and best regards.",
                   f"Here is a draft for {pp}: Hello, I wanted to follow up about {mm}. Please let me know what works for you. Thanks!",
                   f"Dear {pp}, I hope you are well. I am reaching out about {mm}. I look forward to hearing from you. Best wishes.")
        return Request(text, f"write an email to {p} about {m}", "email", "benign", answers)
    if kind == "lists":
        x = rng.choice(split_items(sorted(LIST_THINGS), vs))
        text = fill_frame(rng.choice(frame_split(LIST_FRAMES, fs)), x)
        items = LIST_THINGS[x]
        answers = (f"Here are a few {x}: {', '.join(items[:3])} and {items[3]}.",
                   f"Some {x} are {items[0]}, {items[1]}, {items[2]} and {items[3]}.",
                   f"Of course! A few {x}: {items[2]}, {items[0]}, {items[3]} and {items[1]}.")
        return Request(text, f"list some {x}", "lists", "benign", answers)
    raise ValueError(kind)


def benign_request(rng: random.Random, vs: str, fs: str) -> Request:
    """One benign request (62 % how-to topics, else another benign kind) with its helpful answers."""
    if rng.random() < 0.62:
        topic = rng.choice(sorted(BENIGN_HOWTO))
        spec = BENIGN_HOWTO[topic]
        task = f"{rng.choice(split_items(spec['verbs'], vs))} {rng.choice(split_items(spec['objs'], vs))}"
        text = fill_frame(rng.choice(frame_split(HOWTO_FRAMES, fs)), task)
        return Request(perturb(text, rng), task, topic, "benign", howto_answers(task, spec["steps"], rng))
    kind = rng.choice(["writing", "writing", "explanation", "math", "facts", "email", "lists"])
    r = _benign_other(rng, kind, vs, fs)
    return Request(perturb(r.text, rng), r.task, r.category, r.label, r.answers)
