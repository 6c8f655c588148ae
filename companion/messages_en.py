"""English for the server's Dutch error messages, so a page set to English shows English.

The server keeps one wording per refusal, in Dutch (``ClientError.message``); every error
it sends also carries ``message_en`` from here.  Each entry is a regular expression over
the whole Dutch message and the English template; ``{1}``, ``{2}`` ... take the groups.
A message without an entry goes out with ``message_en`` equal to the Dutch text, and
tests/test_words.py fails for any such message written in the code.
"""

from __future__ import annotations

import re

_TABLE: list[tuple[str, str]] = [
    # rooms, joining, links
    (r"Aantal deelnemers moet tussen (\d+) en (\d+) liggen\.", "The number of participants must be between {1} and {2}."),
    (r"De kamer is vol \((\d+) deelnemers\)\.", "The room is full ({1} participants)."),
    (r"Deze kamer bestaat niet\.", "This room does not exist."),
    (r"Deze kamer wordt nu door een ander serverproces bediend\. Probeer het over een paar seconden opnieuw\.",
     "This room is served by another server process now. Try again in a few seconds."),
    (r"De server kan zijn database even niet bereiken\. Probeer het over een paar seconden opnieuw\.",
     "The server cannot reach its database just now. Try again in a few seconds."),
    (r"Deze link hoort niet bij deze kamer\.", "This link does not belong to this room."),
    (r"Deze naam is al in gebruik in deze kamer; kies een andere\.", "This name is already taken in this room; choose another."),
    (r"Deze sessie is al afgelopen\.", "This session has already ended."),
    (r"Deze uitnodiging is onbekend of verlopen\.", "This invite is unknown or has expired."),
    (r"Je bent niet \(meer\) aangemeld in deze kamer\. Open je persoonlijke link opnieuw\.",
     "You are not (or no longer) signed in to this room. Open your personal link again."),
    (r"Je hoort niet bij deze kamer\.", "You do not belong to this room."),
    (r"Onbekende methode\.", "Unknown method."),
    (r"Taal moet nl of en zijn\.", "The language must be nl or en."),
    (r"Beëindig eerst de sessie; daarna kun je alles verwijderen\.", "End the session first; then you can delete everything."),
    (r"Deze naam is al in gebruik in deze kamer, of lijkt er zo op dat niemand het verschil ziet; kies een andere \(bijvoorbeeld met je achternaam erbij\)\.",
     "This name is already taken in this room, or looks so much like one that no one would see the difference; choose another (add your surname, for example)."),
    (r"Deze server heeft het maximale aantal kamers\. Vraag de beheerder om ruimte\.",
     "This server has the maximum number of rooms. Ask the operator for room."),
    (r"Je hebt al (\d+) kamers \(het maximum\)\. Verwijder een afgelopen sessie of vraag de beheerder\.",
     "You already have {1} rooms (the maximum). Delete a session that has ended or ask the operator."),
    (r"Er is al een begeleider met de naam (.+)\.", "There is already a facilitator named {1}."),
    (r"Alleen begeleiders die de beheerder van deze server kent, kunnen een kamer maken\. Open je persoonlijke begeleiderslink, of vraag de beheerder om er een te maken\.",
     "Only facilitators the operator of this server knows can create a room. Open your personal facilitator link, or ask the operator to make one."),
    (r"De begeleider heeft de kamer gesloten: er kan niemand meer bij\. Vraag de begeleider\.",
     "The facilitator has closed the room: no one else can come in. Ask the facilitator."),
    (r"De begeleider kan niet verwijderd worden\.", "The facilitator cannot be removed."),
    (r"Dit is de inbrenger\. Kies eerst een andere inbrenger\.", "This is the case owner. Choose another case owner first."),
    # session and steps
    (r"Dat kan niet in deze stap\.", "That is not possible in this step."),
    (r"De sessie is afgelopen\.", "The session has ended."),
    (r"De sessie is al begonnen\.", "The session has already started."),
    (r"De sessie is nog niet begonnen\.", "The session has not started yet."),
    (r"Dit is de eerste stap\.", "This is the first step."),
    (r"Dit is de laatste stap\. Beëindig de sessie als jullie klaar zijn\.", "This is the last step. End the session when you are done."),
    (r"Stap (\d+) bestaat niet in deze methode\.", "Step {1} does not exist in this method."),
    (r"Er is nog geen inbrenger\. Sluit de stemming of wijs een inbrenger aan\.",
     "There is no case owner yet. Close the vote or appoint a case owner."),
    (r"De begeleider bewaakt het proces en kan geen inbrenger zijn\.", "The facilitator guards the process and cannot be the case owner."),
    (r"Alleen de begeleider kan dit doen\.", "Only the facilitator can do this."),
    (r"Alleen de inbrenger kan dit doen\.", "Only the case owner can do this."),
    (r"Tijdens de adviesronde luister je alleen\. Na de ronde geef je bij elk advies aan wat je ermee wilt\.",
     "During the advice round you only listen. After the round you mark what you want to do with each item."),
    (r"De begeleider brengt zelf geen casus in\.", "The facilitator does not bring in a case."),
    (r"Dit mag jouw rol niet\.", "Your role may not do this."),
    (r"In deze stap staat jouw microfoon dicht\.", "Your microphone is closed in this step."),
    # cases and the vote
    (r"De keuze is al gemaakt; casussen liggen vast\.", "The choice has been made; the cases are fixed."),
    (r"De stemming is al gesloten\.", "The vote is already closed."),
    (r"De stemming is gesloten\.", "The vote is closed."),
    (r"Deze casus bestaat niet\.", "This case does not exist."),
    (r"Er is geen gelijke stand om te beslissen\.", "There is no tie to decide."),
    (r"Er is nog niet gestemd\.", "No one has voted yet."),
    (r"Je hebt geen casus ingebracht\.", "You have not brought in a case."),
    (r"Kies een van de casussen met de meeste stemmen\.", "Choose one of the cases with the most votes."),
    (r"Onbekende deelnemer\.", "Unknown participant."),
    (r"Deze deelnemer is niet in deze kamer\.", "This participant is not in this room."),
    # advice list
    (r"Dit advies bestaat niet \(meer\)\.", "This item does not exist (any more)."),
    (r"Dit advies is samengevoegd; splits het andere advies in plaats daarvan\.",
     "This item was merged; split the other item instead."),
    (r"Dit advies is verwijderd\.", "This item was deleted."),
    (r"Dit advies staat al in de lijst\.", "This item is already in the list."),
    (r"Deze tekst staat al in de lijst\.", "This text is already in the list."),
    (r"aside_id ontbreekt", "aside_id is missing"),
    (r"Deze niet opgenomen tekst bestaat niet \(meer\)\.", "This text that was not taken in does not exist (any more)."),
    (r"Kies twee verschillende adviezen om samen te voegen\.", "Choose two different items to merge."),
    (r"Splits binnen de tekst, met woorden aan beide kanten\.", "Split inside the text, with words on both sides."),
    (r"Geef text en/of participant_id\.", "Give text and/or participant_id."),
    (r"Een uitspraak is te lang\.", "An utterance is too long."),
    (r"Een uitspraak zonder id\.", "An utterance without an id."),
    # groups, meetings and the next case (companion/groups, engine.py case.next, web_groups.py)
    (r"Sluit eerst deze casus af; daarna kan de volgende beginnen\.", "Close this case first; then the next one can start."),
    (r"De volgende casus is al begonnen\.", "The next case has already started."),
    (r"De begeleider heeft je uit deze casus gehaald\. Vraag de begeleider\.",
     "The facilitator took you out of this case. Ask the facilitator."),
    (r"Iemand in deze kamer heet al zo\. Vraag de begeleider\.", "Someone in this room already has that name. Ask the facilitator."),
    (r"Deze kamer hoort bij geen bijeenkomst\.", "This room belongs to no meeting."),
    (r"(.+) moet een heel aantal dagen tussen (\d+) en (\d+) zijn\.", "{1:field} must be a whole number of days between {2} and {3}."),
    (r"Deze groep bestaat niet, of je bent er geen begeleider van\.", "This group does not exist, or you are not one of its facilitators."),
    (r"Dit lid bestaat niet in deze groep\.", "This member does not exist in this group."),
    (r"Deze server kent geen begeleider met die naam\. De beheerder maakt begeleiders aan\.",
     "This server knows no facilitator by that name. The operator creates facilitators."),
    (r"Er loopt al een bijeenkomst van deze groep\. Sluit die eerst af\.", "A meeting of this group is already running. Close it first."),
    (r"Dit is een losse kamer, geen vaste groep\.", "This is a single room, not a standing group."),
    (r"Deze begeleider hoort niet bij deze groep\.", "This facilitator does not belong to this group."),
    (r"Een groep houdt minstens één begeleider\.", "A group keeps at least one facilitator."),
    (r"Onbekend veld: (.+)", "Unknown field: {1}"),
    # follow-up on last meeting's advice (companion/followup.py)
    (r"Alleen wie de vorige keer een casus inbracht, kijkt hier terug op de eigen adviezen\.",
     "Only those who brought in a case last time look back on their own advice here."),
    (r"In deze kamer is er geen vorige bijeenkomst om op terug te kijken\.", "In this room there is no previous meeting to look back on."),
    (r"Deze adviezenlijst is niet meer bewaard\.", "This advice list is no longer kept."),
    (r"Dit advies staat niet \(meer\) in je lijst\.", "This advice is not (or no longer) in your list."),
    (r"status moet een van (.+) zijn, of null", "status must be one of {1}, or null"),
    (r"Geef status \(of null om hem te wissen\)\.", "Give status (or null to clear it)."),
    (r"text: tekst verwacht \(leeg: je bericht intrekken\)", "text: text expected (empty: withdraw your update)"),
    # field checks (clean_text and friends); the field names come from FIELDS below
    (r"(.+) is leeg", "{1:field} is empty"),
    (r"(.+) is te lang \(hoogstens (\d+) tekens\)", "{1:field} is too long (at most {2} characters)"),
    (r"(.+): tekst verwacht", "{1:field}: text expected"),
    (r"(\w+) moet true of false zijn", "{1} must be true or false"),
    (r"args moet een object zijn", "args must be an object"),
    (r"at moet een tekenpositie zijn", "at must be a character position"),
    (r"index moet een getal vanaf 0 zijn", "index must be a number from 0"),
    (r"index moet een stapnummer zijn \(vanaf 0\)", "index must be a step number (from 0)"),
    (r"item_id ontbreekt", "item_id is missing"),
    (r"mark moet een van (.+) of null zijn", "mark must be one of {1} or null"),
    (r"mark ontbreekt \(useful, not_for_me, ask of null\)\.", "mark is missing (useful, not_for_me, ask or null)."),
    (r"minutes moet een getal tussen -60 en 60 zijn \(niet 0\)", "minutes must be a number between -60 and 60 (not 0)"),
    (r"participant_id moet tekst of null zijn", "participant_id must be text or null"),
    (r'Bevestig het verwijderen met \{"confirm": true\}\.', 'Confirm the deletion with {"confirm": true}.'),
    (r"Er zijn al (\d+) adviezen met de hand gemaakt in deze sessie; meer kan niet\.",
     "{1} items have already been added by hand in this session; no more can be added."),
    # protocol and media
    (r"Het gesprek loopt in een ander venster; haal het eerst hierheen\.", "The call is running in another window; bring it here first."),
    (r"Te veel verzoeken; even rustig aan\.", "Too many requests; slow down a little."),
    (r"Te veel open verbindingen vanaf dit adres\.", "Too many open connections from this address."),
    (r"Het verzoek kwam te langzaam binnen\.", "The request came in too slowly."),
    (r"Dit verzoek kwam van een andere website en is geweigerd\.", "This request came from another website and was refused."),
    (r"Stuur JSON \(Content-Type: application/json\)\.", "Send JSON (Content-Type: application/json)."),
    (r"Alleen tekstberichten \(JSON\)\.", "Text messages (JSON) only."),
    (r"Een JSON-object verwacht\.", "A JSON object was expected."),
    (r"Geen geldige JSON\.", "Not valid JSON."),
    (r"Het verzoek is te groot\.", "The request is too large."),
    (r"Dit adres bestaat niet\.", "This address does not exist."),
    (r"Dit adres neemt dit soort verzoek niet aan\.", "This address does not take this kind of request."),
    (r"Te veel berichten; even rustig aan\.", "Too many messages; slow down a little."),
    (r"Er ging iets mis op de server\.", "Something went wrong on the server."),
    (r"Onbekend berichttype: (.*)", "Unknown message type: {1}"),
    (r"Onbekend mediabericht: (.*)", "Unknown media message: {1}"),
    (r"Onbekende opdracht: (.*)", "Unknown command: {1}"),
    (r"Antwoord op een oud aanbod\.", "An answer to an old offer."),
    (r"Geen openstaand aanbod om te beantwoorden\.", "No open offer to answer."),
    (r"Nog geen mediaverbinding: stuur eerst media\.join\.", "No media connection yet: send media.join first."),
    (r"De server sluit af\.", "The server is shutting down."),
    (r"Dit is geen SDP \(hoort te beginnen met v=0\)\.", "This is not SDP (it should start with v=0)."),
    (r"Onbruikbaar SDP-antwoord: (.*)", "Unusable SDP answer: {1}"),
    (r"SDP is groter dan 64 KiB\.", "SDP is larger than 64 KiB."),
    (r"SDP ontbreekt of is geen tekst\.", "SDP is missing or not text."),
    # a member's own page, record of hours, deleting a member (companion/web_record.py)
    (r"Open je persoonlijke link van de groep om dit te zien\.", "Open your personal link of the group to see this."),
    (r"Deze link is onbekend of ingetrokken\. Vraag de begeleider van je groep om een nieuwe\.",
     "This link is unknown or was revoked. Ask your group's facilitator for a new one."),
    (r"Deze kamer hoort niet bij een groep die vaker bijeenkomt\.", "This room does not belong to a group that meets again."),
    (r"Deze adviezenlijst is er niet \(meer\), of is niet van jou\.", "This advice list does not exist (any more), or is not yours."),
    (r"Er loopt nog een bijeenkomst met dit lid\. Verwijder het lid als die bijeenkomst is afgelopen\.",
     "A meeting with this member is still running. Delete the member once that meeting has ended."),
    # refusals kept in module constants (web_advice.py, groups/store.py)
    (r"Alleen de begeleider kan de adviezenlijst aanpassen\.", "Only the facilitator can change the advice list."),
    (r"Alleen de inbrenger beoordeelt de adviezen en schrijft er notities bij\.",
     "Only the case owner rates the advice and writes notes with it."),
    (r"Alleen de inbrenger en de begeleider kunnen de adviezen downloaden\.",
     "Only the case owner and the facilitator can download the advice."),
    (r"Alleen de inbrenger en de begeleider kunnen de gegevens verwijderen\.",
     "Only the case owner and the facilitator can delete the data."),
    (r"Deze naam is al in gebruik in deze groep, of lijkt er zo op dat niemand het verschil ziet; "
     r"kies een andere \(bijvoorbeeld met je achternaam erbij\)\.",
     "This name is already used in this group, or is so close to one that nobody would tell them apart; "
     "choose another (with your surname, for instance)."),
]

# Field names that clean_text and friends put into their messages.
FIELDS = {
    "Groepsnaam": "Group name",
    "Je naam": "Your name",
    "Naam": "Name",
    "Naam van de begeleider": "Facilitator's name",
    "Titel": "Title",
    "Vraag": "Question",
    "Tekst": "Text",
    "Notitie": "Note",
    "Advies": "Advice",
    "Bewaartermijn van de inhoud": "Retention of the content",
    "Bewaartermijn van de urenregistratie": "Retention of the record of hours",
}

_COMPILED = [(re.compile(pattern + r"\Z", re.S), template) for pattern, template in _TABLE]
_SLOT = re.compile(r"\{(\d+)(:field)?\}")


def english(message: str) -> str | None:
    """The English for a Dutch server message, or None when there is no entry."""
    for pattern, template in _COMPILED:
        match = pattern.match(message)
        if match:
            return _SLOT.sub(lambda m: _fill(match.group(int(m.group(1))), bool(m.group(2))), template)
    return None


def _fill(value: str, is_field: bool) -> str:
    return FIELDS.get(value, value) if is_field else value
