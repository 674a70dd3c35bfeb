// DPO (Rafailov et al. 2023), with conservative label smoothing ε:
//   z = β·((log π(c) − log ref(c)) − (log π(r) − log ref(r))),
//   loss = −(1−ε)·logσ(z) − ε·logσ(−z);  rewards = β·(log π − log ref) of each answer.
#include "core/train/objectives/preference.h"

namespace peft {

PairLoss dpoPairLoss(const PairLogps& x, const nlohmann::json& s) {
    const double beta = setting(s, "beta");
    torch::Tensor chosen = x.chosen - x.refChosen, rejected = x.rejected - x.refRejected;  // [P]
    PairLoss l;
    l.loss = smoothedSigmoidLoss(beta * (chosen - rejected), setting(s, "label_smoothing"));
    l.rewardsChosen = beta * chosen.detach();
    l.rewardsRejected = beta * rejected.detach();
    l.logpsChosen = x.chosen.detach();
    l.logpsRejected = x.rejected.detach();
    return l;
}

}  // namespace peft
