"""Synthetic, realistic kamopt instances of any size, byte-for-byte reproducible.

:func:`generate` writes a folder with ``policy.yaml``, ``accounts.csv`` and, with named
KAMs, ``kams.csv`` and ``kam_fit.csv``. The policy is a scaled version of the bundled
reference policy (``kamopt/sample/policy.yaml``): the same criteria, rules and tier
formulas, with capacities sized *from the generated data* so that every size from 20 to
100,000 accounts is feasible and interesting:

* the current key accounts (incumbents, about 10 % of the accounts, never demoted) use
  well under every capacity, so a plan that keeps them always exists;
* the room left for new promotions is a fraction of what the best candidates would need,
  so KAM hours, sponsor slots, support hours and the budget bind, and hiring pays;
* portfolio limits (tier counts, quotas, concentration) are set so that the incumbents
  alone satisfy every hard one.

:func:`write_sample` writes the data files of the bundled sample (320 accounts) that fit
the hand-written reference policy. Regenerate them with::

    python -m kamopt.generate --sample src/kamopt/sample --force

Everything random comes from one ``numpy.random.default_rng(seed)``; numbers are written
with fixed decimals and no timestamps, so the same arguments give the same bytes.
The per-account numbers a capacity is sized from (KAM hours, support hours, cost to serve)
are computed with kamopt's own expression engine from the same formula text the policy
carries, so the two cannot drift apart.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import yaml

from kamopt.errors import Diagnostic, OutputError
from kamopt.policy.expr import compile_expression

# --------------------------------------------------------------------------- geography

REGIONS: tuple[str, ...] = (
    "Iberia", "France", "DACH", "Nordics", "UK & Ireland", "LATAM", "North America", "APAC",
)
"""The eight sales regions (and default KAM pools), in policy order."""

REGION_WEIGHTS: tuple[float, ...] = (0.14, 0.13, 0.15, 0.09, 0.13, 0.11, 0.15, 0.10)
"""Share of accounts per region."""

COUNTRIES: dict[str, tuple[tuple[str, float], ...]] = {
    "Iberia": (("Spain", 0.75), ("Portugal", 0.25)),
    "France": (("France", 0.80), ("Belgium", 0.15), ("Luxembourg", 0.05)),
    "DACH": (("Germany", 0.70), ("Austria", 0.15), ("Switzerland", 0.15)),
    "Nordics": (("Sweden", 0.35), ("Norway", 0.22), ("Denmark", 0.22), ("Finland", 0.17),
                ("Iceland", 0.04)),
    "UK & Ireland": (("United Kingdom", 0.85), ("Ireland", 0.15)),
    "LATAM": (("Mexico", 0.28), ("Brazil", 0.32), ("Argentina", 0.12), ("Chile", 0.10),
              ("Colombia", 0.12), ("Peru", 0.06)),
    "North America": (("United States", 0.85), ("Canada", 0.15)),
    "APAC": (("Australia", 0.25), ("Japan", 0.22), ("Singapore", 0.15), ("India", 0.20),
             ("South Korea", 0.12), ("New Zealand", 0.06)),
}
"""Countries of each region with their share of the region's accounts."""

COUNTRY_STYLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "Spain": ("es", ("S.A.", "S.L.", "S.A.U.")),
    "Portugal": ("pt", ("S.A.", "Lda.")),
    "France": ("fr", ("S.A.", "SAS", "SARL")),
    "Belgium": ("fr", ("S.A.", "SRL", "SA/NV")),
    "Luxembourg": ("fr", ("S.A.", "S.à r.l.")),
    "Germany": ("de", ("GmbH", "AG", "GmbH & Co. KG", "SE")),
    "Austria": ("de", ("GmbH", "AG")),
    "Switzerland": ("de", ("AG", "GmbH", "SA")),
    "Sweden": ("nordic", ("AB",)),
    "Norway": ("nordic", ("AS", "ASA")),
    "Denmark": ("nordic", ("A/S", "ApS")),
    "Finland": ("nordic", ("Oy", "Oyj")),
    "Iceland": ("nordic", ("hf.", "ehf.")),
    "United Kingdom": ("en", ("Ltd", "plc", "Group")),
    "Ireland": ("en", ("Ltd", "DAC", "plc")),
    "Mexico": ("es", ("S.A. de C.V.", "S.A.B. de C.V.")),
    "Brazil": ("pt", ("Ltda.", "S.A.")),
    "Argentina": ("es", ("S.A.", "S.R.L.")),
    "Chile": ("es", ("S.A.", "SpA")),
    "Colombia": ("es", ("S.A.S.", "S.A.")),
    "Peru": ("es", ("S.A.C.", "S.A.A.")),
    "United States": ("en", ("Inc.", "LLC", "Corp.")),
    "Canada": ("en", ("Inc.", "Ltd.", "Corp.")),
    "Australia": ("en", ("Pty Ltd", "Ltd")),
    "Japan": ("en", ("K.K.", "Co., Ltd.")),
    "Singapore": ("en", ("Pte Ltd",)),
    "India": ("en", ("Pvt Ltd", "Ltd")),
    "South Korea": ("en", ("Co., Ltd.", "Corp.")),
    "New Zealand": ("en", ("Limited",)),
}
"""Country -> (naming style, legal forms)."""

CITIES: dict[str, tuple[str, ...]] = {
    "Spain": ("Sevilla", "Málaga", "Córdoba", "Zaragoza", "Valencia", "Bilbao", "A Coruña", "Cádiz",
              "León", "Ávila", "Logroño", "Alcalá de Henares"),
    "Portugal": ("Lisboa", "Porto", "Braga", "Évora", "Coimbra", "Setúbal", "Guimarães", "Faro"),
    "France": ("Lyon", "Orléans", "Besançon", "Nîmes", "Grenoble", "Rennes", "Angoulême", "Béziers",
               "Valence", "Lille"),
    "Belgium": ("Liège", "Namur", "Mons", "Charleroi"),
    "Luxembourg": ("Esch-sur-Alzette", "Differdange"),
    "Germany": ("München", "Köln", "Düsseldorf", "Nürnberg", "Lübeck", "Würzburg", "Göttingen",
                "Saarbrücken", "Osnabrück", "Mülheim"),
    "Austria": ("Wien", "Graz", "Linz", "Innsbruck"),
    "Switzerland": ("Zürich", "Genève", "Basel", "Luzern"),
    "Sweden": ("Göteborg", "Malmö", "Umeå", "Västerås", "Örebro", "Linköping", "Jönköping"),
    "Norway": ("Tromsø", "Bodø", "Bergen", "Ålesund", "Trondheim"),
    "Denmark": ("Århus", "Odense", "Køge", "Aalborg"),
    "Finland": ("Jyväskylä", "Hämeenlinna", "Tampere", "Oulu"),
    "Iceland": ("Reykjavík", "Akureyri"),
    "United Kingdom": ("Manchester", "Leeds", "Bristol", "Glasgow", "Cardiff", "Norwich", "York",
                       "Southampton"),
    "Ireland": ("Cork", "Galway", "Limerick", "Waterford"),
    "Mexico": ("Querétaro", "Mérida", "León", "Monterrey", "Puebla", "Tijuana"),
    "Brazil": ("São Paulo", "Belém", "Goiânia", "Florianópolis", "Curitiba", "Niterói"),
    "Argentina": ("Córdoba", "Rosario", "Mendoza", "Neuquén"),
    "Chile": ("Valparaíso", "Concepción", "Temuco"),
    "Colombia": ("Medellín", "Bogotá", "Cúcuta", "Popayán"),
    "Peru": ("Cusco", "Arequipa", "Trujillo"),
    "United States": ("Boston", "Denver", "Austin", "Seattle", "Atlanta", "Phoenix", "Pittsburgh"),
    "Canada": ("Montréal", "Québec", "Calgary", "Ottawa"),
    "Australia": ("Brisbane", "Perth", "Adelaide", "Hobart"),
    "Japan": ("Osaka", "Nagoya", "Fukuoka", "Sapporo"),
    "Singapore": ("Jurong", "Tampines"),
    "India": ("Pune", "Chennai", "Hyderabad", "Kochi"),
    "South Korea": ("Busan", "Incheon", "Daegu"),
    "New Zealand": ("Wellington", "Christchurch", "Dunedin"),
}
"""A few cities per country (public bodies and name disambiguation)."""

# --------------------------------------------------------------------------- segments, industries

SEGMENTS: tuple[str, ...] = ("Enterprise", "Mid-Market", "Public Sector", "SMB")
SEGMENT_WEIGHTS: tuple[float, ...] = (0.14, 0.34, 0.10, 0.42)
SEGMENT_REVENUE: dict[str, tuple[float, float, float, float]] = {
    "Enterprise": (9e6, 0.8, 1.5e6, 4e8),
    "Mid-Market": (2.2e6, 0.7, 3e5, 5e7),
    "Public Sector": (4.5e6, 0.8, 3e5, 2e8),
    "SMB": (4.5e5, 0.7, 3e4, 8e6),
}
"""Segment -> (median annual revenue with us in EUR, lognormal sigma, floor, cap)."""

SEGMENT_EMPLOYEES: dict[str, float] = {
    "Enterprise": 9000, "Mid-Market": 700, "Public Sector": 2500, "SMB": 45,
}
"""Segment -> median head count of the customer (bigger spend with us, bigger company)."""

INDUSTRIES: tuple[str, ...] = (
    "Banking", "Insurance", "Public Administration", "Energy", "Manufacturing", "Logistics",
    "Food & Beverage", "Retail", "Healthcare", "Telecom",
)
PRIVATE_INDUSTRY_WEIGHTS: tuple[float, ...] = (0.08, 0.08, 0.0, 0.08, 0.20, 0.12, 0.12, 0.14, 0.10, 0.08)
"""Industry mix of private accounts (no Public Administration)."""
PUBLIC_INDUSTRY_WEIGHTS: tuple[float, ...] = (0.0, 0.0, 0.60, 0.10, 0.0, 0.05, 0.0, 0.0, 0.20, 0.05)
"""Industry mix of Public Sector accounts."""
INDUSTRY_MARGIN: tuple[float, ...] = (0.42, 0.33, 0.22, 0.20, 0.24, 0.13, 0.19, 0.15, 0.30, 0.38)
"""Typical gross margin per industry (same order as INDUSTRIES)."""

TIERS: tuple[str, ...] = ("gold", "silver", "bronze")

# --------------------------------------------------------------------------- names

SURNAMES: dict[str, tuple[str, ...]] = {
    "es": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
           "Jiménez", "Ruiz", "Hernández", "Díaz", "Muñoz", "Álvarez", "Romero", "Gutiérrez",
           "Navarro", "Domínguez", "Vázquez", "Ramírez", "Serrano", "Ibáñez", "Núñez", "Ordóñez",
           "Calderón", "Echeverría", "Zubizarreta", "Castaño", "Peña", "Cortés", "Beltrán", "Quiñones"),
    "pt": ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins",
           "Sousa", "Gonçalves", "Araújo", "Magalhães", "Simões", "Brandão", "Falcão", "Leitão",
           "Conceição", "Guimarães", "Assunção", "Valadão", "Carvalho", "Ribeiro", "Teixeira", "Lopes"),
    "fr": ("Dubois", "Lefèvre", "Moreau", "Girard", "Bérard", "Fontaine", "Rousseau", "Chevalier",
           "Mercier", "Dupré", "Faure", "Gauthier", "Mérieux", "Lacroix", "Deschênes", "Bénard",
           "Périer", "Lemaître", "Guérin", "Boucher", "Brisson", "Côté", "Marchetti", "Lévêque"),
    "de": ("Müller", "Schröder", "Weiß", "Hoffmann", "Schäfer", "Köhler", "Krüger", "Fischer",
           "Wagner", "Becker", "Zimmermann", "Böhm", "Jäger", "Vogel", "Wöhrle", "Lüdecke", "Strauß",
           "Hübner", "Brückner", "Kästner", "Möller", "Günther", "Haußmann", "Eßer"),
    "nordic": ("Lindqvist", "Sjöberg", "Nyström", "Åkesson", "Hägglund", "Sørensen", "Østergaard",
               "Kjær", "Mäkinen", "Virtanen", "Järvinen", "Heikkilä", "Bjørnstad", "Ångström",
               "Dahlgren", "Holmström", "Lundqvist", "Halvorsen", "Søndergaard", "Eriksson",
               "Jónsson", "Karlsson", "Løvås", "Strömberg"),
    "en": ("Whitmore", "Ashford", "Blackwood", "Harrington", "Pemberton", "Fairfax", "Carrington",
           "Holloway", "Thornton", "Wainwright", "Sterling", "Caldwell", "Beaumont", "O'Connor",
           "MacLeod", "Hartley", "Kingsley", "Bradshaw", "Winslow", "Prescott", "Lockwood",
           "Ellsworth", "Radcliffe", "Gallagher"),
}
"""Family names by naming style (companies, KAMs and sponsors)."""

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "es": ("Ana", "Luis", "Carmen", "Javier", "Lucía", "Sergio", "Marta", "Álvaro", "Inés", "José",
           "Begoña", "Íñigo", "Nuria", "Tomás", "Raúl", "Rocío"),
    "pt": ("João", "Maria", "Rui", "Inês", "Tiago", "Gonçalo", "Beatriz", "Sofia", "André",
           "Mariana", "Luís", "Conceição"),
    "fr": ("François", "Hélène", "Élodie", "Jérôme", "Céline", "Amélie", "Stéphane", "Benoît",
           "Chloé", "Loïc", "Noémie", "René"),
    "de": ("Jürgen", "Jörg", "Anja", "Katrin", "Günther", "Sabine", "Matthias", "Bärbel", "Uwe",
           "Lena", "Tobias", "Jürgen-Peter"),
    "nordic": ("Björn", "Åsa", "Søren", "Ingrid", "Lars", "Märta", "Jóhann", "Sigrid", "Mikael",
               "Kaisa", "Eero", "Ragnhild"),
    "en": ("James", "Olivia", "Thomas", "Emily", "Siobhán", "Liam", "Charlotte", "Daniel", "Grace",
           "Oliver", "Aoife", "William"),
}
"""Given names by naming style."""

WORDS: dict[str, tuple[str, ...]] = {
    "es": ("Ñandú", "Cóndor", "Olivo", "Íbero", "Atlántico", "Levante", "Cantábrico", "Alhambra",
           "Horizonte", "Península", "Meseta", "Aragón", "Guadalquivir", "Albacora", "Solana",
           "Mediterráneo", "Pirineos", "Azahar"),
    "pt": ("Atlântico", "Tejo", "Douro", "Minho", "Alvorada", "Sertão", "Cerrado", "Paraná",
           "Solar", "Caravela", "Lusitânia", "Açores", "Ipê", "Jequitibá", "Estrela"),
    "fr": ("Équinoxe", "Aurore", "Horizon", "Méridien", "Hermine", "Azur", "Mistral", "Rhône",
           "Lumière", "Étoile", "Vallée", "Boréal", "Océane", "Cévennes"),
    "de": ("Nordstern", "Alpen", "Rhein", "Donau", "Edelweiß", "Brücke", "Falke", "Löwen",
           "Sonnenberg", "Elbe", "Bergland", "Grün", "Weser", "Schwarzwald"),
    "nordic": ("Fjord", "Norrsken", "Skärgård", "Øresund", "Polar", "Nordlys", "Vättern", "Saimaa",
               "Fjäll", "Havørn", "Isbjørn", "Lysekil", "Björk", "Tundra"),
    "en": ("Northwind", "Summit", "Pinnacle", "Harbour", "Meridian", "Crescent", "Redwood",
           "Evergreen", "Ironbridge", "Highland", "Silverline", "Bluewater", "Keystone", "Oakridge"),
}
"""Brand words by naming style."""

SECTOR_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    # one tuple per industry, in INDUSTRIES order
    "es": (("Banca", "Financiera"), ("Seguros", "Mutua"), ("Servicios Públicos",), ("Energía", "Eléctrica"),
           ("Industrias", "Metalúrgica"), ("Transportes", "Logística"), ("Bodegas", "Conservas"),
           ("Almacenes", "Distribuciones"), ("Laboratorios", "Clínica"), ("Telecomunicaciones", "Redes")),
    "pt": (("Banco", "Financeira"), ("Seguros", "Seguradora"), ("Serviços Públicos",), ("Energia", "Elétrica"),
           ("Indústrias", "Metalúrgica"), ("Transportes", "Logística"), ("Alimentos", "Vinhos"),
           ("Armazéns", "Comércio"), ("Laboratórios", "Saúde"), ("Telecomunicações", "Redes")),
    "fr": (("Banque", "Crédit"), ("Assurances", "Mutuelle"), ("Services Publics",), ("Énergie", "Électricité"),
           ("Industries", "Équipements"), ("Transports", "Logistique"), ("Fromageries", "Brasseries"),
           ("Magasins", "Distribution"), ("Laboratoires", "Santé"), ("Télécom", "Réseaux")),
    "de": (("Bank", "Kreditanstalt"), ("Versicherung", "Versicherungen"), ("Dienste",), ("Energie", "Kraftwerke"),
           ("Maschinenbau", "Werkzeugbau"), ("Spedition", "Logistik"), ("Brauerei", "Feinkost"),
           ("Warenhaus", "Handel"), ("Pharma", "Klinikum"), ("Telekom", "Netze")),
    "nordic": (("Bank", "Finans"), ("Försäkring", "Forsikring"), ("Tjänster",), ("Kraft", "Energi"),
               ("Industri", "Verkstäder"), ("Logistik", "Frakt"), ("Mejeri", "Bryggeri"),
               ("Handel", "Varuhus"), ("Hälsa", "Pharma"), ("Telekom", "Nett")),
    "en": (("Bank", "Capital"), ("Insurance", "Assurance"), ("Services",), ("Energy", "Power"),
           ("Manufacturing", "Engineering"), ("Logistics", "Freight"), ("Foods", "Brewing"),
           ("Stores", "Retail"), ("Health", "Pharmaceuticals"), ("Telecom", "Networks")),
}
"""Sector words by naming style, one tuple per industry."""

PATTERNS: dict[str, tuple[str, ...]] = {
    "es": ("{X} {W} {L}", "{X} {S} {L}", "{S} y {S2} {L}", "Grupo {S}", "{S} Hermanos {L}",
           "Compañía {W} {L}", "{X} del {W} {L}"),
    "pt": ("{X} {W} {L}", "{S} & {S2} {L}", "Grupo {S}", "{S} Irmãos {L}", "Companhia {W} {L}",
           "{X} {S} {L}"),
    "fr": ("{X} {W} {L}", "{S} & Fils {L}", "{S}-{S2} {L}", "Société {W} de {X} {L}", "Groupe {S}",
           "Compagnie {S} {L}", "Établissements {S} {L}"),
    "de": ("{S} & Söhne {L}", "{S} {X} {L}", "{W} {X} {L}", "{S} & {S2} {L}", "{X} {C} {L}",
           "{S}-Gruppe {L}"),
    "nordic": ("{S} {X} {L}", "{W} {X} {L}", "{S} & {S2} {L}", "{W}gruppen {L}", "{C} {X} {L}"),
    "en": ("{S} {X} {L}", "{W} {X} {L}", "{S} & {S2} {L}", "{W} Holdings {L}", "{S} Brothers {L}",
           "{C} {X} {L}"),
}
"""Company name patterns: {S}/{S2} surnames, {W} brand word, {X} sector word, {C} city, {L} legal form."""

PUBLIC_PATTERNS: dict[str, tuple[str, ...]] = {
    "es": ("Ayuntamiento de {C}", "Diputación de {C}", "Consorcio de Aguas de {C}", "Autoridad Portuaria de {C}"),
    "pt": ("Câmara Municipal de {C}", "Prefeitura de {C}", "Serviços Municipalizados de {C}"),
    "fr": ("Mairie de {C}", "Métropole de {C}", "Régie des Eaux de {C}", "Conseil départemental de {C}"),
    "de": ("Stadt {C}", "Landratsamt {C}", "Kommunale Dienste {C}", "Zweckverband {C}"),
    "nordic": ("{C} kommun", "Region {C}", "{C} Hamn"),
    "en": ("{C} City Council", "{C} County Council", "Port of {C} Authority", "{C} Transit Authority"),
}
"""Names of Public Administration accounts."""

KAM_POOL_HIRE_COST: dict[str, int] = {
    "Iberia": 115000, "France": 125000, "DACH": 135000, "Nordics": 130000, "UK & Ireland": 130000,
    "LATAM": 70000, "North America": 150000, "APAC": 110000,
}
"""Annual fully loaded cost of a hired KAM per region (EUR)."""

REGION_STYLE: dict[str, str] = {
    "Iberia": "es", "France": "fr", "DACH": "de", "Nordics": "nordic", "UK & Ireland": "en",
    "LATAM": "es", "North America": "en", "APAC": "en",
}
"""Naming style of the KAMs of a region."""

SPONSOR_TITLES: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("CEO", None),
    ("CFO", ("Banking", "Insurance", "Public Administration", "Energy")),
    ("COO", ("Manufacturing", "Logistics", "Energy", "Food & Beverage")),
    ("CCO", ("Retail", "Food & Beverage", "Healthcare", "Telecom")),
    ("CTO", ("Telecom", "Energy", "Manufacturing", "Healthcare", "Banking")),
    ("CIO", ("Banking", "Insurance", "Telecom")),
    ("CMO", ("Retail", "Food & Beverage", "Telecom")),
    ("Chief Strategy Officer", None),
    ("General Counsel", ("Public Administration", "Healthcare", "Insurance")),
    ("CHRO", ("Public Administration", "Manufacturing", "Logistics")),
)
"""C-level sponsors and their industry affinities (None = any account). Further sponsors
are regional SVPs (affinity: their region), then industry VPs (affinity: their industry)."""

REFERENCE_SPONSORS: tuple[tuple[str, str, int, tuple[str, ...] | None], ...] = (
    ("Ana Ruiz", "CEO", 3, None),
    ("Luis Gómez", "CFO", 4, ("Banking", "Insurance", "Public Administration", "Energy")),
    ("Marta Oliveira", "COO", 5, ("Manufacturing", "Logistics", "Energy", "Food & Beverage")),
    ("François Dubois", "CCO", 5, ("Retail", "Food & Beverage", "Healthcare", "Telecom")),
    ("Jürgen Weiß", "CTO", 4, ("Telecom", "Energy", "Manufacturing", "Healthcare", "Banking")),
)
"""The reference policy's sponsors: (name, title, slots, industry affinity)."""

# --------------------------------------------------------------------------- policy text

CRITERIA: dict[str, dict] = {
    "product_fit": {"weight": 0.25, "column": "product_fit"},
    "solvency": {"weight": 0.20, "label": "Solvency", "column": "credit_score"},
    "relationship": {"weight": 0.20, "column": "relationship"},
    "revenue_potential": {"weight": 0.25, "source": "expansion_potential",
                          "thresholds": [50000, 150000, 400000, 1000000], "scores": [2, 4, 6, 8, 10]},
    "partner_potential": {"weight": 0.10, "column": "partner_potential"},
}
"""The scoring matrix (as in the reference policy)."""

ELIGIBILITY: dict[str, object] = {
    "solvency": "credit_score >= 4",
    "not_a_competitor": {"rule": "is_competitor == 'no'",
                         "description": "Competitors may buy from us but get no key-account programme."},
    "worth_the_effort": {"rule": "revenue * margin >= 40000",
                         "description": "Too small to carry a KAM's time."},
}
"""Eligibility rules (as in the reference policy)."""

TIER_SPECS: dict[str, dict] = {
    "gold": {
        "label": "Gold", "min_score": 6.5, "admit": "segment in ['Enterprise', 'Public Sector']",
        "sponsor": True,
        "kam_hours": "min(420, 160 + revenue / 15000)",
        "support_hours": {
            "technical": "120",
            "logistics": "60 if industry in ['Retail', 'Food & Beverage', 'Logistics'] else 20",
            "marketing": "40",
        },
        "cost_to_serve": "30000 + revenue * 0.01",
        "uplift": "revenue * margin * (0.05 + max(revenue_growth, 0) / 4) + expansion_potential * margin * 0.30",
        "retention_gain": "revenue * margin * churn_risk * 0.5",
    },
    "silver": {
        "label": "Silver", "min_score": 5.5,
        "kam_hours": "min(260, 90 + revenue / 25000)",
        "support_hours": {"technical": "60", "marketing": "15"},
        "cost_to_serve": "12000 + revenue * 0.005",
        "uplift": "revenue * margin * (0.03 + max(revenue_growth, 0) / 6) + expansion_potential * margin * 0.18",
        "retention_gain": "revenue * margin * churn_risk * 0.3",
    },
    "bronze": {
        "label": "Bronze", "min_score": 4.5,
        "kam_hours": "60",
        "support_hours": {"technical": "25"},
        "cost_to_serve": "5000",
        "uplift": "revenue * margin * 0.02 + expansion_potential * margin * 0.08",
        "retention_gain": "revenue * margin * churn_risk * 0.15",
    },
}
"""Tier formulas (as in the reference policy); also used here to size the capacities."""

SUPPORT: dict[str, str] = {"technical": "Technical support", "logistics": "Logistics", "marketing": "Joint marketing"}
"""Support functions and their labels."""

ACCOUNT_COLUMNS: tuple[str, ...] = (
    "account_id", "name", "segment", "region", "country", "industry", "annual_revenue", "gross_margin",
    "revenue_growth", "wallet_share", "expansion_potential", "churn_risk", "credit_score", "product_fit",
    "relationship", "cultural_fit", "partner_potential", "employees", "is_competitor", "current_tier",
    "current_sponsor",
)
"""Columns of accounts.csv, in order."""

FIELD_OF_COLUMN: dict[str, str] = {"annual_revenue": "revenue", "gross_margin": "margin"}
"""Columns renamed by the policy's data.columns (expressions say revenue, margin)."""

SAMPLE_ACCOUNTS = 320
SAMPLE_SEED = 2027
SAMPLE_FILES: tuple[str, ...] = ("accounts.csv", "kams.csv", "kam_fit.csv")
DEFAULT_NAMED_KAMS_LIMIT = 5000
"""generate() writes named KAMs by default up to this many accounts."""

INCUMBENT_SHARE = (0.085, 0.115)
"""Range of the share of accounts that are key accounts today."""
NEW_PROMOTION_SHARE = 0.045
"""max_new_promotions as a share of the accounts."""
KAM_HOURS_PER_FTE = 1600
"""Hours a full-time KAM gives to key accounts (named KAMs may give fewer)."""
WORST_FIT = 1.2
"""Largest hours factor in the fit table (incumbents are packed with it)."""


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class Instance:
    """What :func:`generate` wrote."""

    folder: Path
    policy: Path
    accounts: Path
    kams: Path | None
    kam_fit: Path | None
    n_accounts: int
    n_incumbents: int
    n_pools: int
    n_sponsors: int
    n_kams: int
    n_fit_pairs: int


@dataclass(frozen=True)
class PoolSpec:
    """A KAM pool: its id, display label and the regions / countries it serves."""

    id: str
    label: str
    regions: tuple[str, ...]
    countries: tuple[str, ...] | None
    """None = every country of ``regions``."""
    style: str
    hire_cost: int
    hiring: bool

    def expression(self) -> str:
        """The pool's ``accounts`` condition."""
        if len(self.regions) == 1:
            expr = f"region == {_quote(self.regions[0])}"
        else:
            expr = f"region in [{', '.join(_quote(r) for r in self.regions)}]"
        if self.countries is not None:
            expr += f" and country in [{', '.join(_quote(c) for c in self.countries)}]"
        return expr


@dataclass(frozen=True)
class SponsorSpec:
    """An executive sponsor: name, title, slots (None = sized from the data) and affinity."""

    name: str
    title: str
    slots: int | None
    industries: tuple[str, ...] | None = None
    region: str | None = None

    def allows(self, industry: np.ndarray, region: np.ndarray) -> np.ndarray:
        """bool per account: this sponsor may sponsor it."""
        ok = np.ones(len(industry), dtype=bool)
        if self.industries is not None:
            ok &= np.isin(industry, self.industries)
        if self.region is not None:
            ok &= region == self.region
        return ok

    def affinity(self) -> str | None:
        """The policy's affinity expression (None = any account)."""
        if self.industries is not None:
            return f"industry in [{', '.join(_quote(i) for i in self.industries)}]"
        if self.region is not None:
            return f"region == {_quote(self.region)}"
        return None


def generate(accounts: int, seed: int, out: Path, *, named_kams: bool | None = None, pools: int = 8,
             sponsors: int = 20, force: bool = False) -> Instance:
    """Write a synthetic instance (policy.yaml, accounts.csv [, kams.csv, kam_fit.csv]) to ``out``.

    The folder is written atomically (all files or none); an existing non-empty ``out`` is
    replaced only with ``force``. The same arguments always give the same bytes.
    """
    _check_args(accounts, pools, sponsors)
    from kamopt.report.writers import check_output_dir, output_folder

    check_output_dir(Path(out), force)
    use_kams = accounts <= DEFAULT_NAMED_KAMS_LIMIT if named_kams is None else named_kams
    rng = np.random.default_rng(seed)
    pool_specs = make_pools(pools)
    sponsor_specs = make_sponsors(sponsors, rng)
    cols = make_accounts(accounts, rng, sponsor_specs)
    world = _World.of(cols, pool_specs, sponsor_specs)
    demand = pool_demand(world, rng)
    kams = make_kams(world, demand, rng, per_pool=None) if use_kams else []
    fit = make_fit(world, kams, rng) if use_kams else []
    policy = build_policy(world, demand, kams, accounts=accounts, seed=seed, named_kams=use_kams)
    files = {"policy.yaml": policy, "accounts.csv": accounts_csv(cols)}
    if use_kams:
        files["kams.csv"] = kams_csv(kams)
        files["kam_fit.csv"] = fit_csv(fit)
    out = Path(out)
    with output_folder(out, force) as folder:
        for name in sorted(files):
            folder.text(name, files[name])
    return Instance(
        folder=out, policy=out / "policy.yaml", accounts=out / "accounts.csv",
        kams=out / "kams.csv" if use_kams else None, kam_fit=out / "kam_fit.csv" if use_kams else None,
        n_accounts=accounts, n_incumbents=int((cols["current_tier"] != "").sum()), n_pools=len(pool_specs),
        n_sponsors=len(sponsor_specs), n_kams=len(kams), n_fit_pairs=len(fit),
    )


def sample_files() -> dict[str, str]:
    """The bundled sample's data files (name -> text) for the reference policy."""
    rng = np.random.default_rng(SAMPLE_SEED)
    pool_specs = make_pools(len(REGIONS))
    sponsor_specs = [SponsorSpec(n, t, s, i) for n, t, s, i in REFERENCE_SPONSORS]
    cols = make_accounts(SAMPLE_ACCOUNTS, rng, sponsor_specs)
    _pin_sample_accounts(cols)
    world = _World.of(cols, pool_specs, sponsor_specs)
    kams = make_kams(world, pool_demand(world, rng), rng, per_pool=(2, 4))
    fit = make_fit(world, kams, rng)
    return {"accounts.csv": accounts_csv(cols), "kams.csv": kams_csv(kams), "kam_fit.csv": fit_csv(fit)}


def write_sample(out: Path, force: bool = False) -> list[Path]:
    """Write the bundled sample's data files (accounts.csv, kams.csv, kam_fit.csv) into ``out``.

    Other files in ``out`` (the hand-written policy.yaml) are left alone. Each file is
    written atomically; existing data files are replaced only with ``force``.
    """
    from kamopt.report.writers import write_text_atomic

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(Diagnostic("exists and is not a folder", file=str(out)))
    existing = [name for name in SAMPLE_FILES if (out / name).exists()]
    if existing and not force:
        raise OutputError(Diagnostic(
            f"the folder already holds {', '.join(existing)}", file=str(out),
            hint="use --force to replace them",
        ))
    files = sample_files()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SAMPLE_FILES:
        write_text_atomic(out / name, files[name])
        written.append(out / name)
    return written


def _check_args(accounts: int, pools: int, sponsors: int) -> None:
    if accounts < 1:
        raise ValueError(f"accounts must be at least 1, found {accounts}")
    if not 1 <= pools <= max_pools():
        raise ValueError(f"pools must be within 1-{max_pools()}, found {pools}")
    if sponsors < 0:
        raise ValueError(f"sponsors must be 0 or more, found {sponsors}")


def max_pools() -> int:
    """Most KAM pools: one per country."""
    return sum(len(c) for c in COUNTRIES.values())


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --------------------------------------------------------------------------- pools and sponsors


def make_pools(count: int) -> list[PoolSpec]:
    """``count`` KAM pools: one per region (8); fewer merge neighbouring regions; more split
    the largest regions by country (pool ids ``<region> 1``, ``<region> 2``...)."""
    if count <= len(REGIONS):
        groups = [list(g) for g in np.array_split(np.array(REGIONS, dtype=object), count)]
        return [_pool_of_regions(tuple(g)) for g in groups]
    parts: dict[str, list[list[str]]] = {r: [[c for c, _ in COUNTRIES[r]]] for r in REGIONS}
    for _ in range(count - len(REGIONS)):
        region = max(
            (r for r in REGIONS if any(len(p) > 1 for p in parts[r])),
            key=lambda r: (REGION_WEIGHTS[REGIONS.index(r)] / len(parts[r]), -REGIONS.index(r)),
        )
        big = max(range(len(parts[region])), key=lambda i: (len(parts[region][i]), -i))
        countries = parts[region].pop(big)
        half = (len(countries) + 1) // 2
        parts[region][big:big] = [countries[:half], countries[half:]]
    pools = []
    for k, region in enumerate(REGIONS):
        for i, countries in enumerate(parts[region]):
            split = len(parts[region]) > 1
            pools.append(PoolSpec(
                id=f"{region} {i + 1}" if split else region,
                label=f"{region}: {', '.join(countries)}" if split else region,
                regions=(region,), countries=tuple(countries) if split else None,
                style=REGION_STYLE[region], hire_cost=KAM_POOL_HIRE_COST[region], hiring=k % 4 != 3,
            ))
    return pools


def _pool_of_regions(regions: tuple[str, ...]) -> PoolSpec:
    cost = int(round(np.mean([KAM_POOL_HIRE_COST[r] for r in regions]) / 1000) * 1000)
    first = REGIONS.index(regions[0])
    name = "All regions" if len(regions) == len(REGIONS) else " + ".join(regions)
    return PoolSpec(
        id=name, label=name, regions=regions, countries=None,
        style=REGION_STYLE[regions[0]], hire_cost=cost,
        hiring=len(regions) > 1 or first % 4 != 3,
    )


def make_sponsors(count: int, rng: np.random.Generator) -> list[SponsorSpec]:
    """``count`` executive sponsors with unique names: the reference five, then more C-level,
    regional SVPs and industry VPs. Slots are sized later from the data."""
    out: list[SponsorSpec] = []
    used: set[str] = set()
    for i in range(count):
        if i < len(REFERENCE_SPONSORS):
            name, title, _, industries = REFERENCE_SPONSORS[i]
            spec = SponsorSpec(name, title, None, industries)
        else:
            name = _person_name(rng, _style_cycle(i), used)
            spec = _sponsor_role(i, name)
        used.add(spec.name)
        out.append(spec)
    return out


def _style_cycle(i: int) -> str:
    styles = ("es", "fr", "de", "nordic", "en", "pt")
    return styles[i % len(styles)]


def _sponsor_role(i: int, name: str) -> SponsorSpec:
    if i < len(SPONSOR_TITLES):
        title, industries = SPONSOR_TITLES[i]
        return SponsorSpec(name, title, None, industries)
    j = i - len(SPONSOR_TITLES)
    if j < len(REGIONS):
        return SponsorSpec(name, f"SVP {REGIONS[j]}", None, region=REGIONS[j])
    industry = INDUSTRIES[(j - len(REGIONS)) % len(INDUSTRIES)]
    return SponsorSpec(name, f"VP {industry}", None, (industry,))


def _person_name(rng: np.random.Generator, style: str, used: set[str]) -> str:
    """A unique 'First Last' name in a naming style."""
    firsts, lasts = FIRST_NAMES[style], SURNAMES[style]
    for attempt in range(50):
        name = f"{firsts[rng.integers(len(firsts))]} {lasts[rng.integers(len(lasts))]}"
        if attempt > 20:
            name = f"{name}-{lasts[rng.integers(len(lasts))]}"
        if name not in used:
            used.add(name)
            return name
    k = 2
    while f"{name} {k}" in used:
        k += 1
    used.add(f"{name} {k}")
    return f"{name} {k}"


# --------------------------------------------------------------------------- accounts


def make_accounts(n: int, rng: np.random.Generator, sponsors: Sequence[SponsorSpec]) -> dict[str, np.ndarray]:
    """The account table as columns (numpy arrays, in ACCOUNT_COLUMNS order)."""
    region = _pick(rng, REGIONS, REGION_WEIGHTS, n)
    country = np.empty(n, dtype=object)
    for r in REGIONS:
        rows = np.flatnonzero(region == r)
        names, weights = zip(*COUNTRIES[r])
        country[rows] = _pick(rng, names, weights, rows.size)
    segment = _pick(rng, SEGMENTS, SEGMENT_WEIGHTS, n)
    public = segment == "Public Sector"
    industry = np.where(public, _pick(rng, INDUSTRIES, PUBLIC_INDUSTRY_WEIGHTS, n),
                        _pick(rng, INDUSTRIES, PRIVATE_INDUSTRY_WEIGHTS, n)).astype(object)
    revenue = _revenue(rng, segment)
    quality = rng.normal(0.0, 1.0, n)
    is_competitor = np.where(rng.random(n) < 0.03, "yes", "no").astype(object)
    tier = _incumbent_tiers(rng, revenue, quality, segment, is_competitor)
    incumbent = tier != ""
    quality = quality + 0.6 * incumbent
    cols = {"region": region, "country": country, "segment": segment, "industry": industry}
    cols.update(_economics(rng, revenue, quality, industry, incumbent))
    cols["employees"] = _employees(rng, revenue, segment)
    cols.update(_scores(rng, quality, incumbent))
    cols["is_competitor"] = is_competitor
    cols["current_tier"] = tier
    cols["current_sponsor"] = _current_sponsors(tier, industry, region, sponsors)
    cols["account_id"] = _account_ids(n)
    cols["name"] = _company_names(rng, country, industry)
    return {c: cols[c] for c in ACCOUNT_COLUMNS}


def _pick(rng: np.random.Generator, values: Sequence[str], weights: Sequence[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=n, p=p / p.sum())]


def _account_ids(n: int) -> np.ndarray:
    width = max(4, len(str(n)))
    return np.array([f"A-{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _revenue(rng: np.random.Generator, segment: np.ndarray) -> np.ndarray:
    """Annual revenue (EUR, whole thousands), lognormal by segment."""
    out = np.zeros(len(segment))
    z = rng.normal(0.0, 1.0, len(segment))
    for s, (median, sigma, lo, hi) in SEGMENT_REVENUE.items():
        rows = segment == s
        out[rows] = np.clip(median * np.exp(sigma * z[rows]), lo, hi)
    return np.round(out / 1000) * 1000


def _incumbent_tiers(rng: np.random.Generator, revenue: np.ndarray, quality: np.ndarray,
                     segment: np.ndarray, is_competitor: np.ndarray) -> np.ndarray:
    """Today's tier ('' = not a key account): the biggest, best accounts are key accounts."""
    n = len(revenue)
    share = rng.uniform(*INCUMBENT_SHARE)
    n_inc = min(int(round(share * n)), n)
    propensity = 0.9 * np.log(revenue) + 1.2 * quality + rng.normal(0.0, 0.6, n)
    propensity[is_competitor == "yes"] = -np.inf
    order = np.argsort(-propensity, kind="stable")[:n_inc]
    tier = np.full(n, "", dtype=object)
    strategic = np.isin(segment[order], ["Enterprise", "Public Sector"])
    n_gold = int(round(0.22 * n_inc))
    gold = order[strategic][:n_gold]
    rest = order[~np.isin(order, gold)]
    n_silver = int(round(0.45 * rest.size))
    tier[gold] = "gold"
    tier[rest[:n_silver]] = "silver"
    tier[rest[n_silver:]] = "bronze"
    return tier


def _economics(rng: np.random.Generator, revenue: np.ndarray, quality: np.ndarray, industry: np.ndarray,
               incumbent: np.ndarray) -> dict[str, np.ndarray]:
    """Money columns: revenue, margin, growth, wallet share, expansion, churn."""
    n = len(revenue)
    ind = np.array([INDUSTRIES.index(i) for i in industry], dtype=np.int64)
    margin = np.clip(np.asarray(INDUSTRY_MARGIN)[ind] + rng.normal(0.0, 0.05, n), 0.08, 0.6)
    growth = np.clip(rng.normal(0.05 + 0.04 * quality, 0.09, n), -0.2, 0.5)
    wallet = np.where(incumbent, rng.beta(4.0, 4.0, n), rng.beta(2.0, 5.0, n))
    expansion = revenue * (1 - wallet) * 0.05 * np.exp(0.35 * quality + rng.normal(0.0, 0.5, n))
    churn = np.clip(rng.beta(2.0, 9.0, n) * 1.3 - 0.03 * quality, 0.0, 0.6)
    return {
        "annual_revenue": revenue, "gross_margin": np.round(margin, 3), "revenue_growth": np.round(growth, 3),
        "wallet_share": np.round(wallet, 3), "expansion_potential": np.round(expansion / 100) * 100,
        "churn_risk": np.round(churn, 3),
    }


def _employees(rng: np.random.Generator, revenue: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Customer head count: by segment, growing with what they buy from us."""
    median = np.array([SEGMENT_EMPLOYEES[s] for s in segment])
    rev_median = np.array([SEGMENT_REVENUE[s][0] for s in segment])
    raw = median * (revenue / rev_median) ** 0.8 * np.exp(rng.normal(0.0, 0.4, len(revenue)))
    return np.maximum(2, np.round(raw)).astype(np.int64)


def _scores(rng: np.random.Generator, quality: np.ndarray, incumbent: np.ndarray) -> dict[str, np.ndarray]:
    """1-10 criterion columns; partner_potential has about 10 % blanks (NaN)."""
    n = len(quality)

    def score(base: float, q: float, noise: float, extra: np.ndarray | float = 0.0) -> np.ndarray:
        raw = base + q * quality + extra + rng.normal(0.0, noise, n)
        return np.clip(np.round(raw), 1, 10).astype(np.int64)

    partner = score(3.8, 0.9, 2.0).astype(float)
    partner[rng.random(n) < 0.10] = np.nan
    return {
        "credit_score": score(6.6, 0.5, 1.8),
        "product_fit": score(5.0, 1.3, 1.4),
        "relationship": score(4.2, 1.2, 1.4, 1.5 * incumbent),
        "cultural_fit": score(6.0, 0.7, 1.6),
        "partner_potential": partner,
    }


def _current_sponsors(tier: np.ndarray, industry: np.ndarray, region: np.ndarray,
                      sponsors: Sequence[SponsorSpec]) -> np.ndarray:
    """Today's sponsor of each gold account: the least loaded allowed sponsor with a free slot.

    Sponsors with fixed slots (the reference five) are never overbooked: a gold account
    that finds no free slot is made silver instead.
    """
    out = np.full(len(tier), "", dtype=object)
    if not sponsors:
        return out
    allowed = np.column_stack([s.allows(industry, region) for s in sponsors])
    load = np.zeros(len(sponsors))
    cap = np.array([s.slots if s.slots is not None else np.inf for s in sponsors], dtype=float)
    for r in np.flatnonzero(tier == "gold"):
        free = allowed[r] & (load < cap * 0.75)
        if not free.any():
            tier[r] = "silver"
            continue
        ratio = np.where(free, load / np.where(np.isfinite(cap), cap, 4.0), np.inf)
        e = int(np.argmin(ratio))
        load[e] += 1
        out[r] = sponsors[e].name
    return out


def _company_names(rng: np.random.Generator, country: np.ndarray, industry: np.ndarray) -> np.ndarray:
    """Unique, realistic company names in the style of each account's country."""
    used: set[str] = set()
    out = np.empty(len(country), dtype=object)
    for r in range(len(country)):
        out[r] = _company_name(rng, str(country[r]), str(industry[r]), used)
        used.add(out[r])
    return out


def _company_name(rng: np.random.Generator, country: str, industry: str, used: set[str]) -> str:
    style, legal_forms = COUNTRY_STYLE[country]
    public = industry == "Public Administration"
    name = ""
    for attempt in range(12):
        patterns = PUBLIC_PATTERNS[style] if public and attempt < 6 else PATTERNS[style]
        u = rng.random(7)
        surnames, words = SURNAMES[style], WORDS[style]
        sector = SECTOR_WORDS[style][INDUSTRIES.index(industry)]
        s1 = int(u[1] * len(surnames))
        s2 = (s1 + 1 + int(u[2] * (len(surnames) - 1))) % len(surnames)
        name = patterns[int(u[0] * len(patterns))].format(
            S=surnames[s1], S2=surnames[s2], W=words[int(u[3] * len(words))], X=sector[int(u[4] * len(sector))],
            C=CITIES[country][int(u[5] * len(CITIES[country]))], L=legal_forms[int(u[6] * len(legal_forms))],
        ).strip()
        if name not in used:
            return name
    k = 2
    while f"{name} ({_roman(k)})" in used:
        k += 1
    return f"{name} ({_roman(k)})"


def _roman(k: int) -> str:
    numerals = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = ""
    for value, text in numerals:
        while k >= value:
            out += text
            k -= value
    return out


def _pin_sample_accounts(cols: dict[str, np.ndarray]) -> None:
    """Make the reference policy's overrides meaningful: A-0007 (forced in at silver) is an
    eligible Mid-Market account scoring above silver's 5.5; A-0013 (forced out) is a strong
    Enterprise candidate that the optimiser would otherwise like."""
    for row, segment, revenue, employees, scores, expansion in (
        (6, "Mid-Market", 6_400_000.0, 1400, (7, 7, 6, 6, 5), 240_000.0),
        (12, "Enterprise", 26_000_000.0, 23_500, (8, 8, 7, 7, 7), 950_000.0),
    ):
        cols["segment"][row] = segment
        cols["annual_revenue"][row] = revenue
        cols["employees"][row] = employees
        cols["expansion_potential"][row] = expansion
        cols["gross_margin"][row] = max(cols["gross_margin"][row], 0.22)
        for column, value in zip(("credit_score", "product_fit", "relationship", "cultural_fit",
                                  "partner_potential"), scores):
            cols[column][row] = value
        cols["is_competitor"][row] = "no"
        cols["current_tier"][row] = ""
        cols["current_sponsor"][row] = ""


# --------------------------------------------------------------------------- what the policy will see


@dataclass
class _World:
    """The generated accounts as the policy will see them: fields, scores, needs per tier."""

    cols: dict[str, np.ndarray]
    pools: list[PoolSpec]
    sponsors: list[SponsorSpec]
    pool: np.ndarray
    """int per account: index into pools."""
    score: np.ndarray
    eligible: np.ndarray
    admitted: np.ndarray
    """bool (n, tiers) for non-incumbent candidates."""
    current: np.ndarray
    """int per account: current tier index or -1."""
    needs: dict[str, np.ndarray]
    """'kam_hours', 'cost', 'support:<fn>' -> float (n, tiers)."""

    @classmethod
    def of(cls, cols: dict[str, np.ndarray], pools: list[PoolSpec], sponsors: list[SponsorSpec]) -> "_World":
        fields = _policy_fields(cols)
        n = len(cols["account_id"])
        pool = np.full(n, -1, dtype=np.int64)
        for j, p in enumerate(pools):
            pool = np.where((pool < 0) & _evaluate(p.expression(), fields, n), j, pool)
        score = _score(cols)
        eligible = np.ones(n, dtype=bool)
        for rule in ELIGIBILITY.values():
            eligible &= _evaluate(rule["rule"] if isinstance(rule, dict) else rule, fields, n)
        admitted = np.zeros((n, len(TIERS)), dtype=bool)
        needs = {"kam_hours": np.zeros((n, len(TIERS))), "cost": np.zeros((n, len(TIERS)))}
        needs.update({f"support:{fn}": np.zeros((n, len(TIERS))) for fn in SUPPORT})
        for k, tid in enumerate(TIERS):
            t = TIER_SPECS[tid]
            ok = eligible & (score >= t["min_score"] - 1e-9)
            if "admit" in t:
                ok &= _evaluate(t["admit"], fields, n)
            admitted[:, k] = ok
            needs["kam_hours"][:, k] = _evaluate(t["kam_hours"], fields, n)
            needs["cost"][:, k] = _evaluate(t["cost_to_serve"], fields, n)
            for fn, text in t["support_hours"].items():
                needs[f"support:{fn}"][:, k] = _evaluate(text, fields, n)
        current = np.array([TIERS.index(t) if t else -1 for t in cols["current_tier"]], dtype=np.int64)
        admitted[current >= 0] = False
        return cls(cols, pools, sponsors, pool, score, eligible, admitted, current, needs)

    @property
    def n(self) -> int:
        return len(self.cols["account_id"])

    def incumbent_use(self, need: str) -> np.ndarray:
        """Per account: the need at its current tier (0 for non-incumbents)."""
        inc = self.current >= 0
        out = np.zeros(self.n)
        out[inc] = self.needs[need][np.flatnonzero(inc), self.current[inc]]
        return out

    def best_tier(self) -> np.ndarray:
        """Per candidate: highest admitted tier (-1 if none or incumbent)."""
        any_ok = self.admitted.any(axis=1)
        return np.where(any_ok, np.argmax(self.admitted, axis=1), -1)

    def new_use(self, need: str) -> np.ndarray:
        """Per account: the need at its best admitted tier (0 for non-candidates)."""
        best = self.best_tier()
        out = np.zeros(self.n)
        rows = np.flatnonzero(best >= 0)
        out[rows] = self.needs[need][rows, best[rows]]
        return out


def _policy_fields(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns under the policy's field names; numbers as float64, blanks default like data.defaults."""
    out: dict[str, np.ndarray] = {}
    for column, values in cols.items():
        name = FIELD_OF_COLUMN.get(column, column)
        if values.dtype == object:
            out[name] = values
        else:
            out[name] = np.asarray(values, dtype=float)
    out["partner_potential"] = np.where(np.isnan(out["partner_potential"]), 1.0, out["partner_potential"])
    return out


def _evaluate(text: str, fields: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Evaluate a policy expression with kamopt's own engine (broadcast to n rows)."""
    kinds = {k: ("text" if v.dtype == object else "number") for k, v in fields.items()}
    expr = compile_expression(text, kinds)
    result = expr.evaluate({k: fields[k] for k in expr.names}, n)
    return np.broadcast_to(np.asarray(result), (n,)).copy()


def _score(cols: dict[str, np.ndarray]) -> np.ndarray:
    """The weighted criteria score, as the policy computes it."""
    partner = np.where(np.isnan(cols["partner_potential"].astype(float)), 1.0, cols["partner_potential"])
    total = np.zeros(len(partner))
    for spec in CRITERIA.values():
        if "column" in spec:
            raw = partner if spec["column"] == "partner_potential" else cols[spec["column"]].astype(float)
        else:
            bands = np.searchsorted(np.asarray(spec["thresholds"]), cols[spec["source"]], side="right")
            raw = np.asarray(spec["scores"], dtype=float)[bands]
        total += spec["weight"] * raw
    return np.clip(total, 1.0, 10.0)


# --------------------------------------------------------------------------- KAMs and fit


@dataclass(frozen=True)
class KamRow:
    kam_id: str
    name: str
    pool: str
    hours: int
    max_accounts: int


def pool_demand(world: _World, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pool: (incumbent KAM hours, incumbent count, target capacity in hours).

    The target adds, to the incumbents' hours, a tightness factor (0.35-0.85, varies by
    pool) times the hours the pool's share of the new promotions would need.
    """
    P = len(world.pools)
    inc = world.incumbent_use("kam_hours")
    new = world.new_use("kam_hours")
    promotions = _max_new_promotions(world.n)
    cand = world.best_tier() >= 0
    inc_hours = np.bincount(world.pool, weights=inc, minlength=P)
    inc_count = np.bincount(world.pool[world.current >= 0], minlength=P).astype(float)
    cand_count = np.bincount(world.pool[cand], minlength=P).astype(float)
    mean_new = np.bincount(world.pool[cand], weights=new[cand], minlength=P) / np.maximum(cand_count, 1)
    share = cand_count / max(1.0, cand_count.sum())
    tight = rng.uniform(0.35, 0.85, P)
    target = inc_hours + tight * promotions * share * mean_new
    return inc_hours, inc_count, np.maximum(target, 120.0)


def make_kams(world: _World, demand: tuple[np.ndarray, np.ndarray, np.ndarray], rng: np.random.Generator,
              per_pool: tuple[int, int] | None) -> list[KamRow]:
    """Named KAMs per pool, sized so the incumbents fit (at the worst fit factor) with room to spare."""
    target = demand[2]
    inc = world.incumbent_use("kam_hours") * WORST_FIT
    used: set[str] = set()
    kams: list[KamRow] = []
    width = max(3, len(str(int(target.sum() / 900) + len(world.pools) + 1)))
    for j, pool in enumerate(world.pools):
        inc_pool = inc[(world.pool == j) & (world.current >= 0)]
        count = max(1, int(round(target[j] / KAM_HOURS_PER_FTE)), math.ceil(inc_pool.sum() / (0.7 * KAM_HOURS_PER_FTE)))
        if per_pool is not None:
            count = int(np.clip(count, *per_pool))
        hours = target[j] / count * rng.uniform(0.9, 1.1, count)
        loads, counts = _pack(inc_pool, hours)
        hours = np.maximum(hours, loads / 0.8)
        hours = np.minimum(np.ceil(hours / 10) * 10, 1800).astype(int)
        hours = np.maximum(hours, np.ceil(loads / 0.8 / 10).astype(int) * 10)
        for c in range(count):
            span = max(int(counts[c]) + 2, int(round(hours[c] / 170)), 3)
            kid = f"K-{len(kams) + 1:0{width}d}"
            kams.append(KamRow(kid, _person_name(rng, pool.style, used), pool.id, int(hours[c]), span))
    return kams


def _pack(needs: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy packing (largest first, least relative load): each KAM's load and account count."""
    loads = np.zeros(len(hours))
    counts = np.zeros(len(hours), dtype=np.int64)
    for need in np.sort(needs)[::-1]:
        k = int(np.argmin((loads + need) / hours))
        loads[k] += need
        counts[k] += 1
    return loads, counts


def make_fit(world: _World, kams: list[KamRow], rng: np.random.Generator) -> list[tuple[str, str, float, int]]:
    """Sparse fit table: for each key-eligible account, 0-3 KAMs of its pool with a factor
    0.8-1.2 and a value bonus -5,000..20,000."""
    by_pool: dict[str, list[str]] = {}
    for k in kams:
        by_pool.setdefault(k.pool, []).append(k.kam_id)
    relevant = np.flatnonzero((world.best_tier() >= 0) | (world.current >= 0))
    rows = []
    for r in relevant.tolist():
        options = by_pool.get(world.pools[world.pool[r]].id, [])
        count = min(int(rng.integers(0, 4)), len(options))
        if count == 0:
            continue
        picked = sorted(rng.choice(len(options), size=count, replace=False).tolist())
        for i in picked:
            factor = float(np.round(rng.uniform(0.8, WORST_FIT), 2))
            bonus = int(round(rng.uniform(-5000, 20000) / 100) * 100)
            rows.append((str(world.cols["account_id"][r]), options[i], factor, bonus))
    return rows


# --------------------------------------------------------------------------- policy


def _max_new_promotions(n: int) -> int:
    return max(2, int(round(NEW_PROMOTION_SHARE * n)))


def build_policy(world: _World, demand: tuple[np.ndarray, np.ndarray, np.ndarray], kams: list[KamRow], *,
                 accounts: int, seed: int, named_kams: bool) -> str:
    """The policy.yaml text: the reference policy with capacities sized from the data."""
    inc = world.current >= 0
    data = {"accounts": "accounts.csv"}
    if named_kams:
        data.update({"kams": "kams.csv", "kam_fit": "kam_fit.csv"})
    data.update({
        "delimiter": "auto", "decimal": ".", "encoding": "utf-8",
        "columns": {"id": "account_id", "name": "name", "current_tier": "current_tier",
                    "current_sponsor": "current_sponsor", "revenue": "annual_revenue",
                    "margin": "gross_margin"},
        "defaults": {"partner_potential": 1},
    })
    tiers = {tid: _tier_entry(tid, bool(world.sponsors)) for tid in TIERS}
    policy = {
        "version": 1,
        "name": f"generated-{accounts}-seed-{seed}",
        "description": (f"Synthetic key-account programme: {accounts} accounts, {len(world.pools)} KAM pools, "
                        f"{len(world.sponsors)} executive sponsors (kamopt generate, seed {seed})."),
        "currency": "EUR",
        "data": data,
        "criteria": CRITERIA,
        "eligibility": ELIGIBILITY,
        "tiers": tiers,
        "resources": _resources(world, demand, kams, named_kams),
        "portfolio": _portfolio(world, inc),
        "value": {"horizon_years": 3, "discount_rate": 0.08, "ramp_up": [0.4, 0.8, 1.0]},
        "solver": {"name": "highs", "time_limit": 60 if accounts <= 5000 else 300,
                   "gap": 0.0001 if accounts <= 5000 else 0.001, "threads": 0},
    }
    header = (
        f"# Generated by kamopt generate: {accounts} accounts, seed {seed}, {len(world.pools)} pools, "
        f"{len(world.sponsors)} sponsors, named KAMs {'yes' if named_kams else 'no'}.\n"
        "# A scaled version of the reference policy (kamopt sample); capacities are sized from the data.\n"
        "# Regenerate with the same arguments to get the same bytes.\n\n"
    )
    return header + yaml.safe_dump(_plain(policy), sort_keys=False, allow_unicode=True, width=110,
                                   default_flow_style=False)


def _tier_entry(tid: str, with_sponsors: bool) -> dict:
    spec = dict(TIER_SPECS[tid])
    if "sponsor" in spec:
        spec["sponsor"] = with_sponsors
    spec["support_hours"] = {fn: _number(text) for fn, text in spec["support_hours"].items()}
    for key in ("kam_hours", "cost_to_serve"):
        spec[key] = _number(spec[key])
    return spec


def _number(text: str) -> int | float | str:
    """'120' -> 120 (a YAML number), other expressions stay text."""
    try:
        return int(text)
    except ValueError:
        return text


def _resources(world: _World, demand: tuple[np.ndarray, np.ndarray, np.ndarray], kams: list[KamRow],
               named_kams: bool) -> dict:
    """Budget, KAM pools, sponsors and support hours, sized from the incumbents and the candidates."""
    promotions = _max_new_promotions(world.n)
    inc_hours, inc_count, target = demand
    pools = {}
    hire_budget = 0.0
    for j, p in enumerate(world.pools):
        entry: dict = {"accounts": p.expression()}
        if p.label != p.id:
            entry = {"label": p.label, **entry}
        if not named_kams:
            fte = max(0.5, math.ceil(max(target[j], inc_hours[j] / 0.8) / KAM_HOURS_PER_FTE * 2) / 2)
            span = max(8, math.ceil(inc_count[j] / (0.75 * fte)))
            entry.update({"fte": fte, "span_of_control": span})
        entry["hours_per_fte"] = KAM_HOURS_PER_FTE
        if p.hiring:
            size = sum(1 for k in kams if k.pool == p.id) if named_kams else target[j] / KAM_HOURS_PER_FTE
            max_fte = max(1, int(round(0.2 * size)))
            entry["hiring"] = {"max_fte": max_fte, "cost_per_fte": p.hire_cost}
            hire_budget += 0.4 * max_fte * p.hire_cost
        pools[p.id] = entry
    budget = _capacity(world, "cost", promotions, 0.55) + hire_budget
    support = {fn: {"label": label, "hours": _round_up(_capacity(world, f"support:{fn}", promotions, 0.6), 10)}
               for fn, label in SUPPORT.items()}
    out: dict = {"budget": _round_up(budget, 10000), "kam_fit_only": False, "kam_pools": pools}
    if world.sponsors:
        out["sponsors"] = _sponsor_entries(world)
    out["support"] = support
    return out


def _capacity(world: _World, need: str, promotions: int, tightness: float) -> float:
    """Incumbents' use plus ``tightness`` x what the mean candidate needs x the promotions allowed."""
    inc = float(world.incumbent_use(need).sum())
    cand = world.best_tier() >= 0
    mean_new = float(world.new_use(need)[cand].mean()) if cand.any() else 0.0
    return max(inc / 0.75, inc + tightness * promotions * mean_new)


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(max(value, step) / step) * step)


def _sponsor_entries(world: _World) -> dict:
    """Sponsor slots: today's sponsorships plus room for about 60 % of the possible new gold."""
    current = world.cols["current_sponsor"]
    gold_inc = int((world.current == 0).sum())
    new_gold = int(world.admitted[:, 0].sum())
    room = int(round(0.6 * min(new_gold, max(2, 0.45 * gold_inc + 1))))
    total = len(world.sponsors)
    out = {}
    for i, s in enumerate(world.sponsors):
        today = int((current == s.name).sum())
        extra = room // total + (1 if i < room % total else 0)
        slots = max(1, math.ceil(today / 0.8), today + extra)
        entry: dict = {"title": s.title, "slots": slots}
        if s.affinity() is not None:
            entry["affinity"] = s.affinity()
        out[s.name] = entry
    return out


def _portfolio(world: _World, inc: np.ndarray) -> dict:
    """Portfolio limits that the incumbents alone satisfy; the optimiser meets them on the way up."""
    n_inc = int(inc.sum())
    promotions = _max_new_promotions(world.n)
    gold_inc = int((world.current == 0).sum())
    bronze_inc = int((world.current == 2).sum())
    enterprise = world.cols["segment"] == "Enterprise"
    ent_share = float(enterprise[inc].mean()) if n_inc else 0.0
    latam = world.cols["region"] == "LATAM"
    latam_inc = int((latam & inc).sum())
    revenue = world.cols["annual_revenue"]
    total = float(revenue[inc].sum())
    top = max((float(revenue[inc & (world.cols["industry"] == i)].sum()) / total for i in INDUSTRIES),
              default=0.0) if total else 0.0
    quotas = {}
    if ent_share >= 0.05:
        quotas["enterprise_core"] = {"accounts": "segment == 'Enterprise'",
                                     "min_share": math.floor(0.85 * ent_share * 100) / 100}
    quotas["latam_presence"] = {"accounts": "region == 'LATAM'",
                                "min": latam_inc + max(1, int(round(0.12 * promotions))),
                                "soft": {"penalty": 40000}}
    return {
        "key_accounts": {"min": int(math.floor(0.8 * n_inc)), "max": int(math.ceil(1.05 * (n_inc + promotions)))},
        "tiers": {
            "gold": {"max": gold_inc + max(2, int(round(0.5 * gold_inc)))},
            "bronze": {"max": bronze_inc + max(1, int(round(0.5 * promotions))), "soft": {"penalty": 25000}},
        },
        "quotas": quotas,
        "max_new_promotions": promotions,
        "concentration": {"industry_revenue": {
            "by": "industry", "measure": "revenue",
            "max_share": min(1.0, max(0.30, math.ceil((top + 0.02) * 100) / 100)),
        }},
        "incumbents": {"demotion": "forbid", "exempt_from_rules": True},
        "must_include": [],
        "must_exclude": [],
        "change_penalty": 2000,
    }


def _plain(obj):
    """Nested data with numpy scalars turned into Python ones (for yaml.safe_dump)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# --------------------------------------------------------------------------- CSV text


def _csv(header: Sequence[str], rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _fixed(value: float, decimals: int) -> str:
    """A number with fixed decimals; blank for NaN; never ``-0.00``."""
    if value != value:
        return ""
    return f"{round(value, decimals) + 0.0:.{decimals}f}"


def _column_text(values: np.ndarray, decimals: int) -> list[str]:
    rounded = (np.round(np.asarray(values, dtype=float), decimals) + 0.0).tolist()
    return ["" if v != v else f"{v:.{decimals}f}" for v in rounded]


ACCOUNT_FORMATS: dict[str, int | None] = {
    "annual_revenue": 0, "gross_margin": 3, "revenue_growth": 3, "wallet_share": 3,
    "expansion_potential": 0, "churn_risk": 3, "credit_score": 0, "product_fit": 0, "relationship": 0,
    "cultural_fit": 0, "partner_potential": 0, "employees": 0,
}
"""Decimals per numeric account column (others are text)."""


def accounts_csv(cols: dict[str, np.ndarray]) -> str:
    """accounts.csv text: fixed decimals, blank for missing."""
    formatted = []
    for column in ACCOUNT_COLUMNS:
        decimals = ACCOUNT_FORMATS.get(column)
        values = cols[column]
        if decimals is None:
            formatted.append([str(v) for v in values])
        else:
            formatted.append(_column_text(values, decimals))
    return _csv(ACCOUNT_COLUMNS, zip(*formatted))


def kams_csv(kams: list[KamRow]) -> str:
    return _csv(("kam_id", "name", "pool", "hours", "max_accounts"),
                ((k.kam_id, k.name, k.pool, str(k.hours), str(k.max_accounts)) for k in kams))


def fit_csv(fit: list[tuple[str, str, float, int]]) -> str:
    return _csv(("account_id", "kam_id", "hours_factor", "value_bonus"),
                ((a, k, _fixed(f, 2), str(b)) for a, k, f, b in fit))


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kamopt.generate --sample DIR`` or ``--accounts N --seed S --out DIR``."""
    parser = argparse.ArgumentParser(prog="python -m kamopt.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=Path, help="write the bundled sample's data files into this folder")
    parser.add_argument("--accounts", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--pools", type=int, default=8)
    parser.add_argument("--sponsors", type=int, default=20)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if args.sample is not None:
        for path in write_sample(args.sample, force=args.force):
            print(f"wrote {path}")
        return 0
    if args.accounts is None or args.out is None:
        parser.error("give --sample DIR, or --accounts N and --out DIR")
    inst = generate(args.accounts, args.seed, args.out, pools=args.pools, sponsors=args.sponsors,
                    force=args.force)
    print(f"generated {inst.n_accounts} accounts in {inst.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
