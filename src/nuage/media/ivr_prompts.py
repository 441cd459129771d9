"""The auto-attendant's and conference rooms' default prompts in English, French and Dutch.

Owns their texts (``TEXTS``, one per key of ``directory.menus.DEFAULT_PROMPTS``) and their files:
``generate`` speaks them with espeak-ng (the Debian package ``scripts/install`` adds) into 8 kHz
WAV files ``<directory>/<language>/ivr_<key>.wav``, once, before the SIP node takes calls (never on
a call's path, never downloaded). Without espeak-ng each prompt is a short tone instead, so a
machine without it still runs. Voicemail's prompts are ``nuage.media.prompts``', apart.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import soundfile

from nuage.media.player import RATE, read_wav
from nuage.sip.media import Tone

log = logging.getLogger("nuage.media.ivr_prompts")

LANGUAGES = ("en", "fr", "nl")

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "en": "Welcome. Please choose from the following options.",
        "fr": "Bienvenue. Veuillez choisir parmi les options suivantes.",
        "nl": "Welkom. Maak een keuze uit de volgende opties.",
    },
    "invalid": {
        "en": "That choice is not valid.",
        "fr": "Ce choix n'est pas valide.",
        "nl": "Die keuze is niet geldig.",
    },
    "no_input": {
        "en": "We did not receive your choice.",
        "fr": "Nous n'avons pas reçu votre choix.",
        "nl": "We hebben uw keuze niet ontvangen.",
    },
    "enter_extension": {
        "en": "Please dial the extension, followed by hash.",
        "fr": "Veuillez composer le numéro de poste, suivi de dièse.",
        "nl": "Kies het toestelnummer, gevolgd door hekje.",
    },
    "unknown_extension": {
        "en": "That extension does not exist.",
        "fr": "Ce numéro de poste n'existe pas.",
        "nl": "Dat toestelnummer bestaat niet.",
    },
    "goodbye": {
        "en": "Thank you for calling. Goodbye.",
        "fr": "Merci de votre appel. Au revoir.",
        "nl": "Bedankt voor uw oproep. Tot ziens.",
    },
    "closed": {
        "en": "We are closed at the moment.",
        "fr": "Nous sommes fermés pour le moment.",
        "nl": "We zijn momenteel gesloten.",
    },
    "conference_pin": {
        "en": "Please enter the conference PIN, followed by hash.",
        "fr": "Veuillez entrer le code de la conférence, suivi de dièse.",
        "nl": "Geef de pincode van de vergadering in, gevolgd door hekje.",
    },
    "wrong_pin": {
        "en": "That PIN is not correct.",
        "fr": "Ce code est incorrect.",
        "nl": "Die pincode is onjuist.",
    },
    "conference_alone": {
        "en": "You are the first participant.",
        "fr": "Vous êtes le premier participant.",
        "nl": "U bent de eerste deelnemer.",
    },
}


def prompt_file(directory: Path, language: str, key: str) -> Path:
    """Where a prompt's WAV is kept."""
    return directory / language / f"ivr_{key}.wav"


def _speak(espeak: str, language: str, text: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="nuage-ivr-") as scratch:
        raw = Path(scratch) / "raw.wav"
        subprocess.run(
            [espeak, "-v", language, "-s", "150", "-w", str(raw), text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(target), read_wav(raw), RATE, subtype="PCM_16")


def generate(directory: Path) -> int:
    """Speak every prompt not there yet; how many files were made (0 without espeak-ng). Blocking."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        log.warning("espeak-ng is not installed: the auto-attendant's default prompts will be tones")
        return 0
    made = 0
    for key, texts in TEXTS.items():
        for language in LANGUAGES:
            target = prompt_file(directory, language, key)
            if target.exists():
                continue
            try:
                _speak(espeak, language, texts[language], target)
                made += 1
            except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
                log.warning("prompt %s/%s not generated: %s", language, key, exc)
    return made


def prompt(directory: Path, language: str, key: str) -> Path | Tone:
    """The default prompt ``key`` in ``language`` (English when missing; a tone when none is there)."""
    for candidate in (language, "en"):
        path = prompt_file(directory, candidate, key)
        if path.exists():
            return path
    keys = sorted(TEXTS)
    return Tone(500 + 25 * keys.index(key) if key in keys else 500, 300, -16.0)
