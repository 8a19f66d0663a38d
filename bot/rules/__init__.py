"""Marketing ops' config files (scoring.yaml, routing.yaml, sla.yaml) as validated, immutable rules."""
from bot.rules.decay import Decay
from bot.rules.durations import BusinessDays, parse_duration
from bot.rules.grades import Grades
from bot.rules.loader import CONFIG_FILES, Config, check_config, config_fingerprint, load_config
from bot.rules.problems import ConfigError, Problem
from bot.rules.routing import RoutingRules
from bot.rules.scoring import EngagementRule, FitRule, Gate, ScoringRules
from bot.rules.sla import EscalationStep, HolidayCalendar, SlaRules

__all__ = [
    "BusinessDays", "CONFIG_FILES", "Config", "ConfigError", "Decay", "EngagementRule", "EscalationStep", "FitRule",
    "Gate", "Grades", "HolidayCalendar", "Problem", "RoutingRules", "ScoringRules", "SlaRules", "check_config",
    "config_fingerprint", "load_config", "parse_duration",
]
