"""The app's one resolver: code rules first, then the condition rules stored here; rule sets too.

Everything that turns names, items or a rule set into a runnable check asks
it: the use cases (``rules.services``), analysis, replays, the admin and the
rule list.
"""

from rules.engine import CodeRules, Resolver
from rules.models import ConditionRule, RuleSet

resolver = Resolver(sources=(CodeRules(), ConditionRule.objects), rulesets=RuleSet.objects)
