// SimPO (Meng et al. 2024), no reference model: with the average log-probabilities of the answers,
//   z = β·(avg log π(c) − avg log π(r)) − γ,  loss = −(1−ε)·logσ(z) − ε·logσ(−z) + sft_weight·NLL(c);
//   rewards = β·avg log π of each answer.
#include "core/train/objectives/preference.h"

namespace peft {

PairLoss simpoPairLoss(const PairLogps& x, const nlohmann::json& s) {
    const double beta = setting(s, "beta"), gamma = setting(s, "gamma"), sftWeight = setting(s, "sft_weight");
    torch::Tensor a = x.chosen / x.chosenTokens.clamp_min(1.0),
                  b = x.rejected / x.rejectedTokens.clamp_min(1.0);  // [P]
    PairLoss l;
    l.loss = smoothedSigmoidLoss(beta * (a - b) - gamma, setting(s, "label_smoothing"));
    if (sftWeight != 0) {
        l.loss = l.loss + sftWeight * x.chosenNll;
        l.extra["nll_loss"] = x.chosenNll.detach().expand_as(a);
    }
    l.rewardsChosen = beta * a.detach();
    l.rewardsRejected = beta * b.detach();
    l.logpsChosen = a.detach();
    l.logpsRejected = b.detach();
    return l;
}

}  // namespace peft
