// ORPO (Hong et al. 2024), no reference model. With a = avg log π(c), b = avg log π(r):
//   log_odds = (a − b) − (log(1−eᵃ) − log(1−eᵇ)),
//   loss = NLL of the chosen answers (mean over their tokens) − λ·logσ(log_odds);
//   rewards = λ·a, λ·b. Reported too: nll_loss, log_odds_ratio (logσ(log_odds)), log_odds_chosen.
// With gradient accumulation the NLL is each micro-batch's mean over its chosen tokens, weighted by
// its share of the step's pairs (as the per-micro-batch losses of transformers' Trainer average).
#include "core/train/objectives/preference.h"

namespace peft {

PairLoss orpoPairLoss(const PairLogps& x, const nlohmann::json& s) {
    const double lambda = setting(s, "lambda");
    torch::Tensor a = x.chosen / x.chosenTokens.clamp_min(1.0),
                  b = x.rejected / x.rejectedTokens.clamp_min(1.0);  // [P]
    torch::Tensor logOdds = (a - b) - (torch::log1p(-torch::exp(a)) - torch::log1p(-torch::exp(b)));
    torch::Tensor ratio = torch::nn::functional::logsigmoid(logOdds);
    PairLoss l;
    l.loss = x.chosenNll - lambda * ratio;
    l.rewardsChosen = lambda * a.detach();
    l.rewardsRejected = lambda * b.detach();
    l.logpsChosen = a.detach();
    l.logpsRejected = b.detach();
    l.extra["nll_loss"] = x.chosenNll.detach().expand_as(a);
    l.extra["log_odds_ratio"] = ratio.detach();
    l.extra["log_odds_chosen"] = logOdds.detach();
    return l;
}

}  // namespace peft
