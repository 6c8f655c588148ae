BEGIN TRANSACTION;
CREATE TABLE advice_edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    participant_id TEXT,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT,
    at REAL NOT NULL
);
INSERT INTO "advice_edits" VALUES(1,'SY9FJrCwqWMg','29c345bc491642e8',NULL,'create',NULL,'{"text": "Ik zou eerst met je leidinggevende praten.", "participant_id": "4ajnYl3UpXYP"}',1.79606295187913823129e+09);
INSERT INTO "advice_edits" VALUES(2,'SY9FJrCwqWMg','edb0d1605c124e8c',NULL,'create',NULL,'{"text": "Misschien kun je een coach zoeken die meekijkt.", "participant_id": "RUTswWNJ9BWT"}',1.79606295188037776945e+09);
INSERT INTO "advice_edits" VALUES(3,'SY9FJrCwqWMg','d07c85b25c3447c4',NULL,'create',NULL,'{"text": "Probeer één keer per week nee te zeggen.", "participant_id": "4ajnYl3UpXYP"}',1.79606295188465714448e+09);
INSERT INTO "advice_edits" VALUES(4,'SY9FJrCwqWMg','29c345bc491642e8','_Od2OrtSCCCT','edit','{"text": "Ik zou eerst met je leidinggevende praten."}','{"text": "Eerst met je leidinggevende praten."}',1.79606295188539147374e+09);
INSERT INTO "advice_edits" VALUES(5,'SY9FJrCwqWMg','c058b7dd80f54cc7','_Od2OrtSCCCT','add',NULL,'{"text": "Schrijf op wat je nu al doet.", "participant_id": "RUTswWNJ9BWT"}',1.79606295188574171064e+09);
INSERT INTO "advice_edits" VALUES(6,'gzz8B2cSLogX','56552253cf4141b6',NULL,'create',NULL,'{"text": "Ik zou het gewoon proberen.", "participant_id": "cnA5gIihf9kL"}',1.79606295188755321502e+09);
CREATE TABLE advice_item_languages (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    language TEXT NOT NULL,
    PRIMARY KEY (room_id, item_id)
);
INSERT INTO "advice_item_languages" VALUES('SY9FJrCwqWMg','edb0d1605c124e8c','en');
CREATE TABLE advice_items (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT,
    position REAL NOT NULL,
    start_s REAL,
    end_s REAL,
    -- what the machine heard (or what was typed, for an item added by hand)
    original_text TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    edited INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    merged_into TEXT,
    mark TEXT,
    note TEXT NOT NULL DEFAULT ''
);
INSERT INTO "advice_items" VALUES('29c345bc491642e8','SY9FJrCwqWMg','4ajnYl3UpXYP',1.0,0.0,4.0,'Ik zou eerst met je leidinggevende praten.','Eerst met je leidinggevende praten.','speech',1.79606295187902569769e+09,1.79606295188532972336e+09,1,0,NULL,NULL,'');
INSERT INTO "advice_items" VALUES('edb0d1605c124e8c','SY9FJrCwqWMg','RUTswWNJ9BWT',2.0,5.0,9.0,'Misschien kun je een coach zoeken die meekijkt.','Misschien kun je een coach zoeken die meekijkt.','speech',1.79606295188034796716e+09,1.79606295188034796716e+09,0,0,NULL,NULL,'');
INSERT INTO "advice_items" VALUES('d07c85b25c3447c4','SY9FJrCwqWMg','4ajnYl3UpXYP',3.0,10.0,14.0,'Probeer één keer per week nee te zeggen.','Probeer één keer per week nee te zeggen.','speech',1796062951.88455,1796062951.88455,0,0,NULL,NULL,'');
INSERT INTO "advice_items" VALUES('c058b7dd80f54cc7','SY9FJrCwqWMg','RUTswWNJ9BWT',4.0,NULL,NULL,'Schrijf op wat je nu al doet.','Schrijf op wat je nu al doet.','hand',1.79606295188570833209e+09,1.79606295188570833209e+09,0,0,NULL,NULL,'');
INSERT INTO "advice_items" VALUES('56552253cf4141b6','gzz8B2cSLogX','cnA5gIihf9kL',1.0,0.0,4.0,'Ik zou het gewoon proberen.','Ik zou het gewoon proberen.','speech',1.79606295188752317429e+09,1.79606295188752317429e+09,0,0,NULL,'ask','Wat bedoel je?');
CREATE TABLE advice_marks (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    inbrenger_id TEXT NOT NULL,
    mark TEXT,
    note TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    PRIMARY KEY (item_id, inbrenger_id)
);
INSERT INTO "advice_marks" VALUES('SY9FJrCwqWMg','29c345bc491642e8','LlYHFTPBOlda','useful','Volgende week.',1.79606295188634681701e+09);
CREATE TABLE advice_notes (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL,
    text TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (room_id, participant_id)
);
INSERT INTO "advice_notes" VALUES('SY9FJrCwqWMg','LlYHFTPBOlda','Veel gehad aan deze ronde.',1.79606295188585233686e+09);
CREATE TABLE advice_utterances (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    utterance_id TEXT NOT NULL,
    participant_id TEXT,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    -- the last item this utterance went into (NULL: nothing in it was advice)
    item_id TEXT,
    PRIMARY KEY (room_id, utterance_id)
);
INSERT INTO "advice_utterances" VALUES('SY9FJrCwqWMg','u1','4ajnYl3UpXYP',0.0,4.0,'Ik zou eerst met je leidinggevende praten.',1.79606295186320734022e+09,'29c345bc491642e8');
INSERT INTO "advice_utterances" VALUES('SY9FJrCwqWMg','u2','RUTswWNJ9BWT',5.0,9.0,'Misschien kun je een coach zoeken die meekijkt.',1.7960629518794713021e+09,'edb0d1605c124e8c');
INSERT INTO "advice_utterances" VALUES('SY9FJrCwqWMg','u3','4ajnYl3UpXYP',10.0,14.0,'Probeer één keer per week nee te zeggen.',1.79606295188050699238e+09,'d07c85b25c3447c4');
INSERT INTO "advice_utterances" VALUES('gzz8B2cSLogX','v1','cnA5gIihf9kL',0.0,4.0,'Ik zou het gewoon proberen.',1.79606295188667035105e+09,'56552253cf4141b6');
CREATE TABLE browser_rooms (
    session_hash TEXT NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (session_hash, room_id)
);
INSERT INTO "browser_rooms" VALUES('d64b93c9f1b60eb338e5cb415d6a36bd920edd0e9b36f7ea5c730d0e10ff147f','SY9FJrCwqWMg','4ajnYl3UpXYP',1.7960629518180024624e+09);
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    question TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (room_id, participant_id)
);
INSERT INTO "cases" VALUES('CJJfomfqBIVr','SY9FJrCwqWMg','LlYHFTPBOlda','Grenzen','Hoe zeg ik nee?',1.79606295181656265254e+09);
INSERT INTO "cases" VALUES('k9l0RJqs-dDk','SY9FJrCwqWMg','4ajnYl3UpXYP','Planning','Wat laat ik liggen?',1.79606295181674575803e+09);
CREATE TABLE facilitators (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);
INSERT INTO "facilitators" VALUES('VWe6OsLVtBHx','Fleur de Vries','a67be85ad6ff3cf21ed685ce97c1daa235f3fdd39b8b85755246466ab025d86b',1.7960629517516031265e+09);
INSERT INTO "facilitators" VALUES('6nGEKfhTYQ9-','Ömer Yılmaz','7632c9b9082f4921c9ac18e60a1e06c35b0d73b8675ca163dc29755f4c2cba9a',1.79606295175179958342e+09);
CREATE TABLE method_sources (
    hash TEXT PRIMARY KEY,
    source TEXT NOT NULL
);
INSERT INTO "method_sources" VALUES('951f8f9c14abf64b953eede876430b01a2af4001922213c00f515a5385a4f5b3','# Roddelmodel: nine steps, about 90 minutes per case.  In the roddelfase and
# the advice round the inbrenger is out of sight both ways and keeps listening;
# the server enforces that from the [steps.media] tables below.
#
# Texts are Jinja2 templates.  Variables: inbrenger (name, may be empty),
# question (the current question), original_question, group, minutes,
# minutes_left, step_number, step_count, transcribing (true while this server
# writes out what is said).  Write each paragraph on one line;
# a blank line starts the next paragraph.

id = "roddelmodel"

[title]
nl = "Roddelmodel (9 stappen)"
en = "Gossip model (9 steps)"

[description]
nl = "Iedereen bedenkt een vraag over de eigen rol in een concrete situatie en de groep kiest er met stemmen één uit. Na de toelichting gaat de inbrenger uit beeld en luistert mee terwijl de groep over de kern van de vraag roddelt. De inbrenger mag daarna de vraag herformuleren, gaat opnieuw uit beeld voor de adviesronde en krijgt het laatste woord. Ongeveer 90 minuten."
en = "Everyone thinks of a question about their own part in a concrete situation and the group picks one by vote. After the explanation the case owner goes out of sight and listens while the group gossips about the core of the question. The case owner may then rephrase the question, goes out of sight again for the advice round and has the last word. About 90 minutes."

# ---------------------------------------------------------------- 1
[[steps]]
id = "vraag-bedenken"
kind = "case_round"
minutes = 10

[steps.title]
nl = "Ieder bedenkt een vraag"
en = "Everyone thinks of a question"

[steps.text.nl]
facilitator = """
Welkom{% if group %} bij {{ group }}{% endif %}. Jij houdt vandaag de klok en de volgorde van de stappen in de gaten, en je brengt zelf geen casus in. Vertel de groep dat deze methode het best werkt als de regels streng worden gevolgd, en dat jij dat zult doen.

Vraag iedereen een vraag te bedenken over de eigen rol of het eigen functioneren in een concrete situatie. Niet “Hoe krijg ik mijn team mee?”, maar “Hoe blijf ik rustig als mijn collega in het overleg ...?”

Iedereen typt een korte titel en de vraag: samen is dat hun casus. Ga door naar de stemming als alle casussen er staan.
"""
inbrenger = """
De begeleider heeft jou al als inbrenger aangewezen.{% if question %} Je vraag is: “{{ question }}”{% else %}

Typ je vraag in als je dat nog niet gedaan hebt: een korte titel en de vraag zelf, over jouw eigen rol in een concrete situatie.{% endif %}

Neem de tijd om te bedenken wat je de groep straks wilt vertellen.
"""
deelnemer = """
Denk aan een concrete situatie uit je werk die je nu bezighoudt. Maak er een vraag van over je eigen rol daarin: wat jij doet, laat of zou willen kunnen.

Een vraag over jezelf werkt beter dan een vraag over een ander. Dus liever “Hoe zeg ik op tijd nee tegen ...?” dan “Hoe krijg ik hem zover dat ...?”

Typ een korte titel en je vraag. Iedereen heeft wel een leervraag, waar je ook staat in je werk.
"""

[steps.text.en]
facilitator = """
Welcome{% if group %} to {{ group }}{% endif %}. Today you keep an eye on the clock and on the order of the steps, and you do not bring in a case yourself. Tell the group that this method works best when the rules are followed strictly, and that you will see to that.

Ask everyone to think of a question about their own part or their own way of working in a concrete situation. Not “How do I get my team on board?”, but “How do I stay calm when my colleague, in the meeting, ...?”

Everyone types a short title and the question: together that is their case. Move on to the vote once all cases are in.
"""
inbrenger = """
The facilitator has already made you the case owner.{% if question %} Your question is: “{{ question }}”{% else %}

Type in your question if you have not done so yet: a short title and the question itself, about your own part in a concrete situation.{% endif %}

Take your time to think about what you want to tell the group in a moment.
"""
deelnemer = """
Think of a concrete situation from your work that is on your mind right now. Turn it into a question about your own part in it: what you do, leave undone, or would like to be able to do.

A question about yourself works better than one about someone else. So rather “How do I say no in time to ...?” than “How do I get him to ...?”

Type a short title and your question. Everyone has something to learn, wherever they are in their career.
"""

# ---------------------------------------------------------------- 2
[[steps]]
id = "stemmen"
kind = "vote"
minutes = 5

[steps.title]
nl = "Kiezen: de meeste stemmen gelden"
en = "Choose: most votes win"

[steps.text.nl]
facilitator = """
Alle casussen staan op het scherm. Laat ze eventueel kort voorlezen, zodat iedereen weet waar hij op stemt.

Iedereen stemt op één casus en kan zijn stem veranderen tot jij de stemming sluit. Jij ziet de tussenstand al, de anderen pas na het sluiten. Sluit als iedereen gestemd heeft.

De casus met de meeste stemmen wordt besproken. Bij een gelijke stand beslis jij.{% if inbrenger %} De inbrenger is {{ inbrenger }}.{% endif %}
"""
inbrenger = """
{% if question %}De groep gaat met jouw vraag aan de slag. Je vraag: “{{ question }}”{% else %}De begeleider heeft jou als inbrenger gekozen. Je hebt nog geen vraag ingetypt: dat kan in de volgende stap, als je je vraag toelicht.{% endif %}

In de volgende stap licht je je vraag toe. Bedenk alvast wat de groep moet weten om je vraag te begrijpen: de situatie, wie erbij betrokken zijn en wat jouw rol is.
"""
deelnemer = """
Kies de casus die jij het liefst wilt bespreken. Je hebt één stem en je kunt die veranderen tot de begeleider de stemming sluit.

De stemmen blijven verborgen tot de stemming dicht is. De casus met de meeste stemmen wint; bij een gelijke stand beslist de begeleider.
"""

[steps.text.en]
facilitator = """
All cases are on the screen. You might have them read out briefly, so everyone knows what they are voting for.

Everyone votes for one case and can change their vote until you close the vote. You can see the count already; the others only after it closes. Close the vote once everyone has voted.

The case with the most votes is the one we discuss. If there is a tie, you decide.{% if inbrenger %} The case owner is {{ inbrenger }}.{% endif %}
"""
inbrenger = """
{% if question %}The group is going to work on your question. Your question: “{{ question }}”{% else %}The facilitator has chosen you as the case owner. You have not typed a question yet: you can do that in the next step, when you explain it.{% endif %}

In the next step you explain your question. Think ahead about what the group needs to know to understand it: the situation, who is involved and what your part is.
"""
deelnemer = """
Choose the case you would most like to discuss. You have one vote and you can change it until the facilitator closes the vote.

The votes stay hidden until the vote is closed. The case with the most votes wins; if there is a tie, the facilitator decides.
"""

# ---------------------------------------------------------------- 3
[[steps]]
id = "toelichting"
kind = "explanation"
minutes = 10

[steps.title]
nl = "Toelichting op de vraag"
en = "Explaining the question"

[steps.text.nl]
facilitator = """
{{ inbrenger or "De inbrenger" }} licht de vraag toe.{% if question %} De vraag: “{{ question }}”{% endif %}

Laat het verhaal ruimte krijgen, maar houd het bij de kern. Alleen als iets echt onduidelijk is, mag er een korte feitelijke vraag gesteld worden. Meningen en adviezen komen later.

Kondig aan het eind de roddelfase aan: {{ inbrenger or "de inbrenger" }} gaat dan uit beeld en luistert alleen mee.
"""
inbrenger = """
Vertel de groep over je vraag: wat is de situatie, wie zijn erbij betrokken, wat heb je al geprobeerd en wat is jouw rol?{% if question %} Je kunt je vraag hier nog aanpassen. Nu staat er: “{{ question }}”{% else %} Typ je vraag hier ook in, zodat de groep hem op het scherm ziet.{% endif %}

Je hebt ongeveer {{ minutes }} minuten. Daarna ga je uit beeld: je ziet de groep dan niet meer en zij zien jou niet, maar je blijft alles horen.
"""
deelnemer = """
Luister naar de toelichting van {{ inbrenger or "de inbrenger" }}. Schrijf op wat je opvalt: woorden die terugkomen, wat er gezegd wordt en wat juist niet.

Stel alleen een korte feitelijke vraag als iets echt onduidelijk is. Je eigen ideeën over de kern bewaar je voor de roddelfase, adviezen voor nog later.
"""

[steps.text.en]
facilitator = """
{{ inbrenger or "The case owner" }} explains the question.{% if question %} The question: “{{ question }}”{% endif %}

Give the story room, but keep it to the core. Only if something is really unclear may someone ask a short factual question. Opinions and advice come later.

At the end, announce the gossip phase: {{ inbrenger or "the case owner" }} will then go out of sight and only listen.
"""
inbrenger = """
Tell the group about your question: what the situation is, who is involved, what you have already tried and what your part is.{% if question %} You can still change your question here. It now reads: “{{ question }}”{% else %} Type your question here as well, so the group can see it on the screen.{% endif %}

You have about {{ minutes }} minutes. After that you go out of sight: you will no longer see the group and they will not see you, but you will keep hearing everything.
"""
deelnemer = """
Listen to {{ inbrenger or "the case owner" }}''s explanation. Note what strikes you: words that keep coming back, what is said and what is left unsaid.

Only ask a short factual question if something is really unclear. Keep your own thoughts about the core for the gossip phase, and advice for later still.
"""

# ---------------------------------------------------------------- 4
[[steps]]
id = "roddelfase"
kind = "roddelfase"
minutes = 15

[steps.title]
nl = "Roddelfase"
en = "Gossip phase"

[steps.media]
inbrenger_sees_group = false
group_sees_inbrenger = false
inbrenger_heard = false

[steps.text.nl]
facilitator = """
{{ inbrenger or "De inbrenger" }} is nu uit beeld, maar hoort alles. De groep praat over {{ inbrenger or "de inbrenger" }} alsof zij of hij er niet is: wat is de echte kern van deze vraag? Wat zit erachter?

Geen adviezen in de roddelfase. Houd dat streng vast: hoor je “Ze zou eens moeten ...”, onderbreek dan vriendelijk en vraag om het te bewaren voor de adviesronde. Juist die strengheid maakt de roddelfase krachtig.

Let ook op de toon. Er wordt over iemand gepraat die meeluistert: eerlijk mag, respectvol moet.

Ga door als er een paar duidelijke gedachten over de kern liggen, of als de tijd om is.
"""
inbrenger = """
Je bent nu uit beeld. Jij ziet de groep niet en de groep ziet jou niet. Je microfoon staat dicht, maar je hoort alles.

Luister rustig mee. De anderen praten over jou en je vraag alsof je er niet bent. Ze zoeken naar de kern: waar gaat het volgens hen eigenlijk om? Je hoeft niets te doen en niets recht te zetten.

Maak gerust aantekeningen: wat herken je, wat verrast je, waar schuur je tegenaan?

Straks kom je terug en mag je je vraag herformuleren.
"""
deelnemer = """
{{ inbrenger or "De inbrenger" }} is uit beeld, maar luistert mee. Praat nu met elkaar over {{ inbrenger or "de inbrenger" }}, in de derde persoon: wat is volgens jou de echte kern van deze vraag?

Denk hardop: wat viel je op in het verhaal, welke woorden kwamen terug, wat bleef onbenoemd? Bouw voort op wat een ander zegt.

Nog geen adviezen: het gaat om de vraag, niet om de oplossing. En praat zo dat {{ inbrenger or "de inbrenger" }} het kan horen, want dat gebeurt ook.
"""

[steps.text.en]
facilitator = """
{{ inbrenger or "The case owner" }} is now out of sight, but hears everything. The group talks about {{ inbrenger or "the case owner" }} as if {{ inbrenger or "the case owner" }} were not in the room: what is the real core of this question? What lies behind it?

No advice in the gossip phase. Hold that line firmly: if you hear “She should really ...”, interrupt kindly and ask to keep it for the advice round. That strictness is what makes the gossip phase work.

Watch the tone as well. People are talking about someone who is listening: honest is fine, respectful is a must.

Move on when a few clear thoughts about the core are on the table, or when the time is up.
"""
inbrenger = """
You are out of sight now. You do not see the group and the group does not see you. Your microphone is closed, but you hear everything.

Just listen. The others are talking about you and your question as if you were not there. They are looking for the core: what is it really about, in their view? You do not have to do anything or put anything right.

Feel free to take notes: what do you recognise, what surprises you, what rubs you the wrong way?

In a moment you come back and may rephrase your question.
"""
deelnemer = """
{{ inbrenger or "The case owner" }} is out of sight, but listening. Talk with each other about {{ inbrenger or "the case owner" }}, in the third person: what do you think is the real core of this question?

Think out loud: what struck you in the story, which words came back, what stayed unsaid? Build on what others say.

No advice yet: this is about the question, not the solution. And speak in a way {{ inbrenger or "the case owner" }} can hear, because that is exactly what is happening.
"""

# ---------------------------------------------------------------- 5
[[steps]]
id = "herformuleren"
kind = "reformulate"
minutes = 5

[steps.title]
nl = "Terug in de groep: de vraag herformuleren"
en = "Back in the group: rephrasing the question"

[steps.text.nl]
facilitator = """
Heet {{ inbrenger or "de inbrenger" }} welkom terug in beeld. Vraag kort wat er is blijven hangen van de roddelfase, en of de vraag nog klopt.

De inbrenger beslist of de vraag verandert; de groep praat er niet over mee. Een nieuwe formulering typt {{ inbrenger or "de inbrenger" }} zelf in.{% if original_question %}

De oorspronkelijke vraag: “{{ original_question }}”{% endif %}{% if question and question != original_question %}

De vraag is nu: “{{ question }}”{% endif %}

Houd het kort: de adviesronde wacht.
"""
inbrenger = """
Welkom terug: je ziet de groep weer en iedereen ziet en hoort jou.

Wat is je bijgebleven van wat de anderen zeiden? Klopt je vraag nog, of wil je hem anders stellen nu je dit gehoord hebt?{% if original_question %} Je oorspronkelijke vraag was: “{{ original_question }}”{% endif %}

Wil je je vraag herformuleren, typ dan hier de nieuwe versie. Die vraag staat centraal in de adviesronde. Blijft hij hetzelfde, dan is dat ook goed.
"""
deelnemer = """
{{ inbrenger or "De inbrenger" }} is terug in beeld en vertelt kort wat de roddelfase opleverde. Misschien wordt de vraag anders gesteld.

Luister, en verdedig je eigen ideeën over de kern niet: de vraag is van {{ inbrenger or "de inbrenger" }}.{% if question %}

De vraag is nu: “{{ question }}”{% endif %}
"""

[steps.text.en]
facilitator = """
Welcome {{ inbrenger or "the case owner" }} back into view. Ask briefly what stuck from the gossip phase, and whether the question still fits.

The case owner decides whether the question changes; the group does not discuss it. {{ inbrenger or "The case owner" }} types any new wording themselves.{% if original_question %}

The original question: “{{ original_question }}”{% endif %}{% if question and question != original_question %}

The question now reads: “{{ question }}”{% endif %}

Keep it short: the advice round is waiting.
"""
inbrenger = """
Welcome back: you can see the group again and everyone can see and hear you.

What stayed with you from what the others said? Does your question still fit, or would you like to put it differently now that you have heard this?{% if original_question %} Your original question was: “{{ original_question }}”{% endif %}

If you want to rephrase your question, type the new version here. That question is the one the advice round works on. If it stays the same, that is fine too.
"""
deelnemer = """
{{ inbrenger or "The case owner" }} is back in view and says briefly what the gossip phase brought. The question may be rephrased.

Listen, and do not defend your own ideas about the core: the question belongs to {{ inbrenger or "the case owner" }}.{% if question %}

The question now reads: “{{ question }}”{% endif %}
"""

# ---------------------------------------------------------------- 6
[[steps]]
id = "adviesronde"
kind = "advice"
minutes = 15

[steps.title]
nl = "Adviesronde"
en = "Advice round"

[steps.media]
inbrenger_sees_group = false
group_sees_inbrenger = false
inbrenger_heard = false
transcribe = true

[steps.text.nl]
facilitator = """
{{ inbrenger or "De inbrenger" }} is weer uit beeld en luistert mee. Nu mogen de adviezen komen.{% if question %} Ze gaan over de vraag: “{{ question }}”{% endif %}

Zorg dat er één advies tegelijk komt, dat iedereen aan de beurt komt en dat adviezen niet onderling besproken worden. Zoveel mogelijk ideeën, concreet en opbouwend.

{% if transcribing %}Wat er gezegd wordt, wordt hier op de server uitgeschreven, per spreker. De inbrenger krijgt zo een lijst van alle adviezen met namen. Er gaat niets naar buiten.{% else %}Spraakherkenning staat op deze server niet aan: typ elk advies bovenaan de lijst en klik op de naam van wie het gaf. Zo krijgt de inbrenger toch een lijst van alle adviezen met namen.{% endif %}
"""
inbrenger = """
Je bent weer uit beeld. Jij ziet de groep niet en de groep ziet jou niet. Je microfoon staat dicht, maar je hoort alles.

Luister rustig naar de adviezen. Je hoeft nergens op te reageren en niets uit te leggen. Maak gerust aantekeningen van wat je raakt.

Je hoeft niet alles op te schrijven: {% if transcribing %}de adviezen worden uitgeschreven en verschijnen terwijl ze gegeven worden in de lijst op je scherm, met de namen erbij.{% else %}de begeleider zet de adviezen met de namen erbij in de lijst op je scherm.{% endif %} Na deze ronde kom je terug en mag jij reageren.
"""
deelnemer = """
Geef nu je adviezen aan {{ inbrenger or "de inbrenger" }}, die meeluistert.{% if question %} De vraag: “{{ question }}”{% endif %}

Eén advies per keer, concreet en opbouwend: wat zou {{ inbrenger or "de inbrenger" }} kunnen doen of proberen? Hoe meer ideeën hoe beter.

Ga niet in discussie over de adviezen van anderen; vul liever aan.{% if transcribing %} Wat je zegt wordt hier op de server uitgeschreven, zodat er een lijst van alle adviezen komt.{% else %} De begeleider zet elk advies met jouw naam in de lijst.{% endif %}
"""

[steps.text.en]
facilitator = """
{{ inbrenger or "The case owner" }} is out of sight again and listening. Now the advice may come.{% if question %} It is about the question: “{{ question }}”{% endif %}

Make sure advice comes one at a time, that everyone gets a turn, and that pieces of advice are not debated among yourselves. As many ideas as possible, concrete and constructive.

{% if transcribing %}What is said is transcribed here on the server, per speaker. That way the case owner gets a list of all the advice with names. Nothing leaves the server.{% else %}Speech recognition is not on for this server: type each piece of advice at the top of the list and click the name of who gave it. That way the case owner still gets a list of all the advice with names.{% endif %}
"""
inbrenger = """
You are out of sight again. You do not see the group and the group does not see you. Your microphone is closed, but you hear everything.

Listen calmly to the advice. You do not have to react to anything or explain anything. Feel free to take notes on whatever touches you.

You do not have to write everything down: {% if transcribing %}the advice is transcribed and appears in the list on your screen as it is given, with names.{% else %}the facilitator puts the advice in the list on your screen, with names.{% endif %} After this round you come back and it is your turn to respond.
"""
deelnemer = """
Now give your advice to {{ inbrenger or "the case owner" }}, who is listening.{% if question %} The question: “{{ question }}”{% endif %}

One piece of advice at a time, concrete and constructive: what could {{ inbrenger or "the case owner" }} do or try? The more ideas the better.

Do not argue about other people''s advice; add to it instead.{% if transcribing %} What you say is transcribed here on the server, so that there is a list of all the advice.{% else %} The facilitator puts each piece of advice in the list with your name.{% endif %}
"""

# ---------------------------------------------------------------- 7
[[steps]]
id = "reactie-inbrenger"
kind = "reaction"
minutes = 10

[steps.title]
nl = "De inbrenger reageert"
en = "The case owner responds"

[steps.text.nl]
facilitator = """
{{ inbrenger or "De inbrenger" }} is terug in beeld en reageert op de adviezen: wat raakte, wat is bruikbaar, wat past niet?

Geef de inbrenger de ruimte en laat de groep nu luisteren. Er wordt niet opnieuw geadviseerd en niemand verdedigt zijn advies. Een korte verhelderende vraag van de inbrenger mag wel beantwoord worden.
"""
inbrenger = """
Welkom terug: je bent weer in beeld en iedereen hoort je.

Vertel de groep wat de adviezen met je deden. Wat raakte je, wat ga je gebruiken, wat past niet bij jou of bij de situatie? Is een advies niet duidelijk, vraag dan wat er bedoeld werd.

Je hoeft niet op elk advies in te gaan. De volledige lijst krijg je ook op schrift.
"""
deelnemer = """
{{ inbrenger or "De inbrenger" }} reageert nu op de adviezen. Luister, ook als jouw advies niet wordt gekozen.

Verdedig je advies niet en voeg geen nieuwe toe. Vraagt {{ inbrenger or "de inbrenger" }} wat je bedoelde, leg het dan kort uit.
"""

[steps.text.en]
facilitator = """
{{ inbrenger or "The case owner" }} comes back into view and responds to the advice: what touched them, what is useful, what does not fit?

Give the case owner room and let the group listen now. No new advice, and nobody defends their own. A short clarifying question from the case owner may of course be answered.
"""
inbrenger = """
Welcome back: you are in view again and everyone can hear you.

Tell the group what the advice did to you. What touched you, what will you use, what does not fit you or the situation? If a piece of advice is unclear, ask what was meant.

You do not have to go into every piece of advice. You will get the full list in writing as well.
"""
deelnemer = """
{{ inbrenger or "The case owner" }} is now responding to the advice. Listen, even if your advice is not picked.

Do not defend your advice and do not add new advice. If {{ inbrenger or "the case owner" }} asks what you meant, explain it briefly.
"""

# ---------------------------------------------------------------- 8
[[steps]]
id = "reactie-groep"
kind = "reaction"
minutes = 10

[steps.title]
nl = "De anderen reageren"
en = "The others respond"

[steps.text.nl]
facilitator = """
Nu reageren de anderen op wat {{ inbrenger or "de inbrenger" }} zei. Laat ieder kort aan het woord: wat herken je, wat neem je mee voor je eigen werk?

Bewaak dat dit geen tweede adviesronde wordt. Reacties gaan over wat iemand zelf heeft geleerd of gezien, niet over wat de inbrenger nog meer zou moeten doen.
"""
inbrenger = """
Nu is het jouw beurt om te luisteren. De anderen vertellen wat jouw vraag en jouw reactie bij hen oproepen en wat ze er zelf van leren.

Je hoeft niet te reageren. Merk op wat het met je doet dat jouw vraag ook anderen iets oplevert.
"""
deelnemer = """
Reageer op wat {{ inbrenger or "de inbrenger" }} net vertelde. Wat herken je uit je eigen werk? Wat heb je van deze vraag geleerd, ook al was het niet de jouwe?

Houd het kort en persoonlijk, en geef geen nieuwe adviezen: die ronde is voorbij.
"""

[steps.text.en]
facilitator = """
Now the others respond to what {{ inbrenger or "the case owner" }} said. Give everyone a short turn: what do they recognise, what do they take into their own work?

Guard against this turning into a second advice round. Responses are about what people learned or noticed themselves, not about what the case owner ought to do next.
"""
inbrenger = """
Now it is your turn to listen. The others say what your question and your response bring up in them and what they learn from it themselves.

You do not need to reply. Notice what it is like that your question gives something to others too.
"""
deelnemer = """
Respond to what {{ inbrenger or "the case owner" }} just said. What do you recognise from your own work? What have you learned from this question, even though it was not yours?

Keep it short and personal, and give no new advice: that round is over.
"""

# ---------------------------------------------------------------- 9
[[steps]]
id = "evaluatie"
kind = "evaluation"
minutes = 10

[steps.title]
nl = "Terugblik en het laatste woord"
en = "Looking back, and the last word"

[steps.text.nl]
facilitator = """
Kijk samen terug op de sessie. Hoe ging het proces: bleef de roddelfase vrij van adviezen, was er genoeg tijd, voelde het veilig?

Vraag ieder wat hij of zij meeneemt. Iedereen kan dat hier opschrijven; het blijft privé, tenzij iemand ervoor kiest het met de groep te delen.

Geef tot slot het laatste woord aan {{ inbrenger or "de inbrenger" }}. Beëindig daarna de sessie.
"""
inbrenger = """
Wat neem jij mee uit deze sessie? Welke adviezen ga je gebruiken en wat doe je als eerste? Schrijf het hier op. Het blijft privé, tenzij je ervoor kiest het met de groep te delen.

Jij krijgt het laatste woord. Zeg wat je nog kwijt wilt: aan de groep, over je vraag of over hoe het was om zo besproken te worden.
"""
deelnemer = """
Wat neem jij mee uit deze sessie? Denk aan je eigen werk, en aan hoe het ging met luisteren, vragen stellen en je oordeel uitstellen. Schrijf het hier op. Het blijft privé, tenzij je ervoor kiest het met de groep te delen.

Hoe vond je het proces? Zeg het in de ronde. Het laatste woord is aan {{ inbrenger or "de inbrenger" }}.
"""

[steps.text.en]
facilitator = """
Look back on the session together. How did the process go: did the gossip phase stay free of advice, was there enough time, did it feel safe?

Ask each person what they take away. Everyone can write it down here; it stays private unless someone chooses to share it with the group.

Finally, give the last word to {{ inbrenger or "the case owner" }}. Then end the session.
"""
inbrenger = """
What do you take away from this session? Which advice will you use, and what will you do first? Write it down here. It stays private unless you choose to share it with the group.

You have the last word. Say whatever you still want to say: to the group, about your question, or about what it was like to be discussed this way.
"""
deelnemer = """
What do you take away from this session? Think of your own work, and of how it went with listening, asking questions and holding back your judgement. Write it down here. It stays private unless you choose to share it with the group.

How did you find the process? Say so in the round. The last word goes to {{ inbrenger or "the case owner" }}.
"""
');
CREATE TABLE participant_signals (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room_id, participant_id, kind)
);
INSERT INTO "participant_signals" VALUES('SY9FJrCwqWMg','RUTswWNJ9BWT','hand',1.79606295181750035289e+09);
INSERT INTO "participant_signals" VALUES('SY9FJrCwqWMg','RUTswWNJ9BWT','help',1.0);
CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    joined_at REAL NOT NULL,
    mic_muted_by TEXT,
    camera_off INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "participants" VALUES('_Od2OrtSCCCT','SY9FJrCwqWMg','Fleur','facilitator','1d78f7974666ab117d0cc512c6e6cf291a7dc0e55bd13734d1000248b8118874',1.7960629517519903183e+09,NULL,0);
INSERT INTO "participants" VALUES('4ajnYl3UpXYP','SY9FJrCwqWMg','Anna','deelnemer','0ad444be72e8ffe91863ee1688e5c6dfe657e02abef54c4c1b4304cdf6b50701',1.79606295181452441222e+09,NULL,0);
INSERT INTO "participants" VALUES('LlYHFTPBOlda','SY9FJrCwqWMg','Bram','deelnemer','b2779f918b66c22e342b4e13940d25ad03a3309f0d2fe4d01d178b7044e972ad',1.79606295181483650207e+09,NULL,0);
INSERT INTO "participants" VALUES('RUTswWNJ9BWT','SY9FJrCwqWMg','Carla','deelnemer','9ffb141a9f37ecad270172348583785e24b3899be2a3c0346b41fc48e4b67147',1.79606295181500935555e+09,NULL,0);
INSERT INTO "participants" VALUES('usJT3SePNchs','SY9FJrCwqWMg','Daan','deelnemer','3c4ef94fe1b703af4c742df123be01c5d09da5c5791f61fbffec58feffba71ea',1.79606295181519198421e+09,NULL,0);
INSERT INTO "participants" VALUES('G0VH8nJojvpv','gzz8B2cSLogX','Fleur','facilitator','7a93c8a9e8ebde05f74fcea469bfb774224fc2e33d5f70cc977bc3324933f393',1.79606295181539201734e+09,NULL,0);
INSERT INTO "participants" VALUES('cnA5gIihf9kL','gzz8B2cSLogX','Anna','deelnemer','592ddf23618ca07dcf2ffd4e2ff44c9d800969a6cb3f10bc9bdf422aa20eff21',1.79606295181576824191e+09,NULL,0);
INSERT INTO "participants" VALUES('kUF0wsRWhlQ3','gzz8B2cSLogX','Bram','deelnemer','7c9bf23f32382ba9420b48226541720302788077ef48be983256490413516c27',1.79606295181591105463e+09,NULL,0);
INSERT INTO "participants" VALUES('vtuIxxroltxR','gzz8B2cSLogX','Carla','deelnemer','73a35b895eefc6560172978e48eea11f8257d4caf6a2831b6f482f1dc8282475',1.79606295181606984137e+09,NULL,0);
INSERT INTO "participants" VALUES('HNSHuy0TPER-','gzz8B2cSLogX','Daan','deelnemer','d83813b6630a80389739f83bae3888bc8e6cd36185e6380ec6e853d3c1b6a16a',1.7960629518162975312e+09,NULL,0);
CREATE TABLE removed_participants (
    participant_id TEXT PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    removed_at REAL NOT NULL
);
INSERT INTO "removed_participants" VALUES('usJT3SePNchs','SY9FJrCwqWMg',1.79606295181773138042e+09);
CREATE TABLE room_leases (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
INSERT INTO "room_leases" VALUES('SY9FJrCwqWMg','node-a:8080',1.79606296681820654876e+09);
CREATE TABLE room_locks (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    locked_at REAL NOT NULL
);
INSERT INTO "room_locks" VALUES('SY9FJrCwqWMg',1.7960629518179030418e+09);
CREATE TABLE room_methods (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    method_hash TEXT NOT NULL REFERENCES method_sources(hash)
);
INSERT INTO "room_methods" VALUES('SY9FJrCwqWMg','951f8f9c14abf64b953eede876430b01a2af4001922213c00f515a5385a4f5b3');
INSERT INTO "room_methods" VALUES('gzz8B2cSLogX','951f8f9c14abf64b953eede876430b01a2af4001922213c00f515a5385a4f5b3');
CREATE TABLE room_owners (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    facilitator_id TEXT NOT NULL
);
INSERT INTO "room_owners" VALUES('SY9FJrCwqWMg','VWe6OsLVtBHx');
INSERT INTO "room_owners" VALUES('gzz8B2cSLogX','VWe6OsLVtBHx');
CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    method_id TEXT NOT NULL,
    -- the method as it was when the room was made: editing a file later
    -- never changes a session under way
    method_source TEXT NOT NULL,
    language TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    invite_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',
    step_index INTEGER,
    step_started_at REAL,
    paused_at REAL,
    paused_total REAL NOT NULL DEFAULT 0,
    extra_seconds REAL NOT NULL DEFAULT 0,
    overtime_notified INTEGER NOT NULL DEFAULT 0,
    inbrenger_id TEXT,
    case_id TEXT,
    question_original TEXT,
    question_reformulated TEXT,
    vote_closed INTEGER NOT NULL DEFAULT 0,
    vote_tie TEXT,
    ended_at REAL,
    retention_days INTEGER NOT NULL DEFAULT 30,
    rev INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "rooms" VALUES('SY9FJrCwqWMg','Team Noord','roddelmodel','','nl',8,'2929e8a74a11d0f37d1460d2be5243930d0b8c1fea318be48352e2645ec6b846',1.7960629517519903183e+09,'running',1,1796062951.81685,NULL,0.0,0.0,0,'LlYHFTPBOlda','CJJfomfqBIVr','Hoe zeg ik nee?',NULL,1,NULL,NULL,30,16);
INSERT INTO "rooms" VALUES('gzz8B2cSLogX','Team Zuid','roddelmodel','','nl',8,'daa11a95e60ad4cc129a81266d7b78e44e92104f36e434dca372c3fbb0112d61',1.79606295181539201734e+09,'waiting',NULL,NULL,NULL,0.0,0.0,0,'kUF0wsRWhlQ3',NULL,NULL,NULL,0,NULL,NULL,30,4);
CREATE TABLE server_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO "server_meta" VALUES('first_facilitator','1796062951.7518826');
CREATE TABLE set_aside (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT,
    start_s REAL,
    end_s REAL,
    text TEXT NOT NULL,
    -- one of REASONS
    reason TEXT NOT NULL,
    -- the language the words were heard in (another language than the room's shows here)
    language TEXT,
    -- JSON list of the utterance ids the words came from
    utterance_ids TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    -- the advice item it became when someone restored it (NULL: still set aside)
    restored_item TEXT,
    restored_at REAL
);
INSERT INTO "set_aside" VALUES('1189833b66de45eb','SY9FJrCwqWMg','4ajnYl3UpXYP',20.0,20.0,'Even koffie halen.','other',NULL,'["u9"]',1796062951.88602,NULL,NULL);
CREATE TABLE takeaways (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (room_id, participant_id)
);
INSERT INTO "takeaways" VALUES('SY9FJrCwqWMg','usJT3SePNchs','Nee zeggen mag',1,1.79606295181760835643e+09);
CREATE TABLE utterance_pieces (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    piece_id TEXT NOT NULL,
    turn_id TEXT NOT NULL,
    PRIMARY KEY (room_id, piece_id)
);
INSERT INTO "utterance_pieces" VALUES('SY9FJrCwqWMg','p1','t1');
INSERT INTO "utterance_pieces" VALUES('SY9FJrCwqWMg','p2','t1');
CREATE TABLE utterances (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    step_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    text TEXT NOT NULL,
    confidence REAL NOT NULL,
    language TEXT NOT NULL,
    created_at REAL NOT NULL
);
INSERT INTO "utterances" VALUES('u1','SY9FJrCwqWMg','adviesronde','4ajnYl3UpXYP',0.0,4.0,'Ik zou eerst met je leidinggevende praten.',0.9,'nl',1.79606295181833267209e+09);
INSERT INTO "utterances" VALUES('u2','SY9FJrCwqWMg','adviesronde','RUTswWNJ9BWT',5.0,9.0,'Misschien kun je een coach zoeken die meekijkt.',0.9,'nl',1.79606295181840276719e+09);
INSERT INTO "utterances" VALUES('u3','SY9FJrCwqWMg','adviesronde','4ajnYl3UpXYP',10.0,14.0,'Probeer één keer per week nee te zeggen.',0.9,'nl',1.79606295181844711301e+09);
INSERT INTO "utterances" VALUES('t1','SY9FJrCwqWMg','adviesronde','RUTswWNJ9BWT',15.0,19.0,'Als één beurt opnieuw.',0.8,'nl',1.79606295181858873367e+09);
CREATE TABLE votes (
    room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    voter_id TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, voter_id)
);
INSERT INTO "votes" VALUES('SY9FJrCwqWMg','4ajnYl3UpXYP','CJJfomfqBIVr');
INSERT INTO "votes" VALUES('SY9FJrCwqWMg','RUTswWNJ9BWT','CJJfomfqBIVr');
INSERT INTO "votes" VALUES('SY9FJrCwqWMg','usJT3SePNchs','CJJfomfqBIVr');
CREATE UNIQUE INDEX participants_room_name
    ON participants(room_id, name COLLATE NOCASE);
CREATE INDEX utterances_by_step ON utterances (room_id, step_id, start_s);
CREATE INDEX advice_items_room ON advice_items(room_id, position);
CREATE INDEX advice_edits_item ON advice_edits(room_id, item_id);
CREATE INDEX set_aside_room ON set_aside(room_id, start_s);
CREATE UNIQUE INDEX facilitators_name ON facilitators(name COLLATE NOCASE);
CREATE INDEX room_owners_facilitator ON room_owners(facilitator_id);
CREATE INDEX browser_rooms_participant ON browser_rooms(participant_id);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('advice_edits',6);
COMMIT;
